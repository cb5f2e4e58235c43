"""A login hint reaches only the person it names: username, email and phone number are unique
across the three fields, and a hint that still names two users is refused, not guessed
(issue 16, finding 3)."""

from __future__ import annotations

import uuid

import pytest

from app.users.models import User
from tests.support.ciba import CibaClient, Phone
from tests.support.device import enroll_new_device


@pytest.fixture
def customer(admin, http, server):
    return Phone.enroll(
        admin, http, server.url, "bob", email="bob@example.com", phone_number="+15555550100"
    )


@pytest.mark.parametrize(
    "clash",
    [
        {"username": "bob@example.com"},  # another user's email as a username
        {"username": "robert", "email": "bob@example.com"},
        {"username": "robert", "phone_number": "+1 555 555 0100"},
    ],
)
def test_an_identifier_of_one_user_cannot_be_anothers(admin, customer, clash):
    response = admin.post("/admin/users", json=clash)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "conflict"


def test_a_username_cannot_be_taken_as_a_later_users_email(admin, server):
    assert admin.post("/admin/users", json={"username": "eve@example.com"}).status_code == 201
    later = admin.post("/admin/users", json={"username": "eve", "email": "eve@example.com"})
    assert later.status_code == 409, later.text
    renamed = admin.post("/admin/users", json={"username": "eve"}).json()
    patched = admin.patch(f"/admin/users/{renamed['id']}", json={"email": "eve@example.com"})
    assert patched.status_code == 409, patched.text
    # A user's own identifiers are not a clash with itself.
    own = admin.patch(f"/admin/users/{renamed['id']}", json={"username": "eve", "name": "Eve"})
    assert own.status_code == 200, own.text


def test_an_ambiguous_hint_is_refused_and_no_phone_is_asked(admin, http, server, customer):
    # A user named like the customer's email, stored before the rule above existed.
    impostor_id = uuid.uuid4().hex

    async def insert(services) -> None:
        async with services.db.session() as session:
            session.add(User(id=impostor_id, username="bob@example.com"))
            await session.commit()

    server.call(insert)
    impostor_phone = Phone(
        {"id": impostor_id}, enroll_new_device(admin, http, server.url, impostor_id), http
    )
    call_centre = CibaClient.register(admin, http)
    response = call_centre.authorize(login_hint="bob@example.com")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unknown_user_id"
    assert impostor_phone.pending() == [] and customer.pending() == []
    # The customer is still reached by a hint only they match.
    assert call_centre.authorize(login_hint="+15555550100").status_code == 200
    assert len(customer.pending()) == 1 and impostor_phone.pending() == []
