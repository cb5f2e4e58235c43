"""The admin API for users: standard claims, uniqueness, normalisation, clean refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app.storage.db import Database, sync_url
from app.users.service import UserService


def _count_users(database_url: str) -> int:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM users")).scalar_one()
    engine.dispose()
    return int(count)


def test_create_normalises_and_returns_the_user(admin):
    response = admin.post(
        "/admin/users",
        json={
            "username": "Alice",
            "email": "Alice@Example.COM",
            "phone_number": "+44 7700 900-123",
            "name": "Alice Liddell",
            "address": {"locality": "Oxford", "country": "GB"},
        },
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["username"] == "alice"
    assert user["email"] == "alice@example.com"
    assert user["phone_number"] == "+447700900123"
    assert user["address"] == {"locality": "Oxford", "country": "GB"}
    assert user["active"] is True and user["email_verified"] is False
    assert admin.get(f"/admin/users/{user['id']}").json()["name"] == "Alice Liddell"


def test_username_email_and_phone_are_unique(admin, database_url):
    admin.post(
        "/admin/users",
        json={"username": "bob", "email": "bob@example.com", "phone_number": "+15555550100"},
    )
    for clash in (
        {"username": "BOB"},
        {"username": "bob2", "email": "BOB@example.com"},
        {"username": "bob3", "phone_number": "+1 555 555 0100"},
    ):
        response = admin.post("/admin/users", json=clash)
        assert response.status_code == 409, clash
        assert response.json()["error"] == "conflict"
    assert _count_users(database_url) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "x@example.com"},
        {"username": ""},
        {"username": "has space"},
        {"username": "carol", "email": "not-an-email"},
        {"username": "carol", "phone_number": "0123"},
        {"username": "carol", "birthdate": "yesterday"},
        {"username": "carol", "favourite_colour": "blue"},
        {"username": "carol", "address": {"planet": "Mars"}},
        {"username": "carol", "active": "maybe"},
        {"username": ["carol"]},
    ],
)
def test_bad_input_is_400_and_creates_nothing(admin, database_url, body):
    response = admin.post("/admin/users", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert _count_users(database_url) == 0


def test_patch_changes_only_what_is_given_and_null_clears(admin):
    user = admin.post(
        "/admin/users", json={"username": "dan", "email": "dan@example.com", "name": "Dan"}
    ).json()
    patched = admin.patch(f"/admin/users/{user['id']}", json={"name": None, "active": False})
    assert patched.status_code == 200
    body = patched.json()
    assert "name" not in body and body["active"] is False and body["email"] == "dan@example.com"
    assert admin.patch(f"/admin/users/{user['id']}", json={"username": None}).status_code == 400
    assert admin.patch(f"/admin/users/{user['id']}", json={"email": "bad"}).status_code == 400
    assert admin.get(f"/admin/users/{user['id']}").json()["email"] == "dan@example.com"


def test_unknown_user_is_404_and_delete_removes(admin):
    assert admin.get("/admin/users/nope").status_code == 404
    assert admin.patch("/admin/users/nope", json={"name": "x"}).status_code == 404
    user = admin.post("/admin/users", json={"username": "erin"}).json()
    assert admin.delete(f"/admin/users/{user['id']}").status_code == 204
    assert admin.get(f"/admin/users/{user['id']}").status_code == 404


async def test_login_hint_finds_by_username_email_or_phone(admin, database_url):
    created = admin.post(
        "/admin/users",
        json={"username": "fay", "email": "fay@example.com", "phone_number": "+447700900777"},
    ).json()
    db = Database(database_url)
    try:
        users = UserService(db)
        for hint in ("fay", "FAY", "fay@example.com", "+44 7700 900777", "+447700900777"):
            found = await users.find_by_hint(hint)
            assert found is not None and found.id == created["id"], hint
        assert await users.find_by_hint("nobody") is None
    finally:
        await db.dispose()
