"""The refresh_token grant over real HTTP: rotation, reuse revoking the family, scope narrowing,
and the ID token keeping the original login's sub and auth_time."""

from __future__ import annotations

import jwt
import pytest

from tests.support.ciba import CIBA, CibaClient, Phone, verify_id_token


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "kim")


@pytest.fixture
def client(admin, http):
    return CibaClient.register(
        admin, http, grant_types=[CIBA, "refresh_token"], scope="openid profile offline_access"
    )


def _login(client, phone) -> dict:
    auth_req_id = client.start(login_hint="kim", scope="openid profile offline_access")
    phone.answer("approve")
    response = client.poll(auth_req_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _refresh(client, token: str, **extra: str):
    return client.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, **extra},
        auth=client.auth,
    )


def test_a_refresh_rotates_and_keeps_the_login(client, phone, server):
    first = _login(client, phone)
    response = _refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "openid profile offline_access"
    old = verify_id_token(server.url, first["id_token"], client.client_id)
    new = verify_id_token(server.url, second["id_token"], client.client_id)
    for claim in ("sub", "auth_time", "azp", "acr", "amr"):
        assert new[claim] == old[claim]
    # The new one works in turn.
    assert _refresh(client, second["refresh_token"]).status_code == 200


def test_reusing_a_rotated_token_revokes_the_family(client, phone):
    first = _login(client, phone)
    second = _refresh(client, first["refresh_token"]).json()
    reused = _refresh(client, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The thief's replay also cost the legitimate holder its token: the family is gone.
    assert _refresh(client, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_scope_may_narrow_but_not_widen(client, phone):
    first = _login(client, phone)
    narrowed = _refresh(client, first["refresh_token"], scope="openid")
    assert narrowed.status_code == 200
    body = narrowed.json()
    assert body["scope"] == "openid"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "openid"
    # The refresh token itself keeps its scope: the next refresh may ask for profile again.
    again = _refresh(client, body["refresh_token"], scope="openid profile")
    assert again.status_code == 200
    wider = _refresh(client, again.json()["refresh_token"], scope="openid email")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


def test_foreign_unknown_and_disabled(admin, http, client, phone):
    first = _login(client, phone)
    other = CibaClient.register(admin, http, grant_types=[CIBA, "refresh_token"])
    assert _refresh(other, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert _refresh(client, "nonsense").json()["error"] == "invalid_grant"
    missing = http.post("/token", data={"grant_type": "refresh_token"}, auth=client.auth)
    assert missing.json()["error"] == "invalid_request"
    admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
    assert _refresh(client, first["refresh_token"]).json()["error"] == "invalid_grant"
