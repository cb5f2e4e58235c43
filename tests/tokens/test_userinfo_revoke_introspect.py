"""/userinfo (with RFC 6750's errors), /revoke (RFC 7009) and /introspect (RFC 7662) over real
HTTP, on tokens a real CIBA login produced."""

from __future__ import annotations

import jwt
import pytest

from tests.support.ciba import CIBA, CibaClient, Phone
from tests.support.clients import register

SCOPE = "openid profile email phone offline_access"


@pytest.fixture
def phone(admin, http, server):
    response = admin.post(
        "/admin/users",
        json={
            "username": "lena",
            "email": "lena@example.com",
            "email_verified": True,
            "phone_number": "+441632960777",
            "name": "Lena Ng",
        },
    )
    assert response.status_code == 201
    from tests.support.device import enroll_new_device

    user = response.json()
    return Phone(user, enroll_new_device(admin, http, server.url, user["id"]), http)


def _client(admin, http, **metadata) -> CibaClient:
    return CibaClient.register(
        admin, http, grant_types=[CIBA, "refresh_token"], scope=SCOPE, **metadata
    )


def _tokens(client, phone, scope: str = SCOPE) -> dict:
    auth_req_id = client.start(login_hint="lena", scope=scope)
    phone.answer("approve")
    return dict(client.poll(auth_req_id).json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("subject_type", ["public", "pairwise"])
def test_userinfo_releases_claims_by_scope_with_the_id_tokens_sub(admin, http, phone, subject_type):
    metadata = {"subject_type": "pairwise", "sector_identifier_uri": "https://a.example/s"}
    client = _client(admin, http, **(metadata if subject_type == "pairwise" else {}))
    tokens = _tokens(client, phone, "openid email")
    response = http.get("/userinfo", headers=_bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    body = response.json()
    sub = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]
    assert body == {"sub": sub, "email": "lena@example.com", "email_verified": True}
    full = _tokens(client, phone)
    by_post = http.post("/userinfo", data={"access_token": full["access_token"]}).json()
    assert by_post["name"] == "Lena Ng" and by_post["phone_number"] == "+441632960777"
    assert by_post["preferred_username"] == "lena" and by_post["sub"] == sub


def test_userinfo_errors(admin, http, phone, server):
    client = _client(admin, http)
    tokens = _tokens(client, phone)
    bare = http.get("/userinfo")
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == 'Bearer realm="backchannel"'
    bad = http.get("/userinfo", headers=_bearer("not-a-token"))
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]
    both = http.post(
        "/userinfo",
        data={"access_token": tokens["access_token"]},
        headers=_bearer(tokens["access_token"]),
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    service = register(admin, grant_types=["client_credentials"], scope="payments")
    no_openid = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(service["client_id"], service["client_secret"]),
    ).json()["access_token"]
    insufficient = http.get("/userinfo", headers=_bearer(no_openid))
    assert insufficient.status_code == 403
    assert insufficient.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in insufficient.headers["www-authenticate"]
    admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
    assert http.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401


def _introspect(client, token: str) -> dict:
    response = client.http.post("/introspect", data={"token": token}, auth=client.auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


def _revoke(client, token: str) -> None:
    response = client.http.post("/revoke", data={"token": token}, auth=client.auth)
    assert response.status_code == 200, response.text


def test_introspect_describes_live_tokens_and_nothing_else(admin, http, phone, server):
    client = _client(admin, http)
    tokens = _tokens(client, phone)
    access = _introspect(client, tokens["access_token"])
    assert access["active"] is True and access["client_id"] == client.client_id
    assert access["scope"] == SCOPE and access["iss"] == server.url
    assert access["sub"] == phone.user["id"] and access["token_type"] == "Bearer"
    refresh = _introspect(client, tokens["refresh_token"])
    assert refresh["active"] is True and refresh["client_id"] == client.client_id
    # RFC 7662 §2.2 token_type is an RFC 6749 §7.1 access token type; a refresh token has none.
    assert "token_type" not in refresh
    assert _introspect(client, "garbage") == {"active": False}
    missing = http.post("/introspect", data={}, auth=client.auth)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_introspection_is_no_oracle_for_other_clients_tokens(admin, http, phone, server):
    # RFC 7662 §4: a client learns only about tokens issued to it.
    client = _client(admin, http)
    other = _client(admin, http)
    tokens = _tokens(client, phone)
    assert _introspect(other, tokens["access_token"]) == {"active": False}
    assert _introspect(other, tokens["refresh_token"]) == {"active": False}


def test_a_registered_resource_server_introspects_tokens_for_its_audience(
    admin, http, phone, server
):
    client = _client(admin, http)
    tokens = _tokens(client, phone)
    api = CibaClient.register(admin, http, resource_server_audiences=[server.url])
    access = _introspect(api, tokens["access_token"])
    assert access["active"] is True and access["sub"] == phone.user["id"]
    assert access["client_id"] == client.client_id
    assert _introspect(api, tokens["refresh_token"]) == {"active": False}  # not for an API
    elsewhere = CibaClient.register(
        admin, http, resource_server_audiences=["https://api.example.com"]
    )
    assert _introspect(elsewhere, tokens["access_token"]) == {"active": False}


def test_revoke_then_introspect(admin, http, phone):
    client = _client(admin, http)
    tokens = _tokens(client, phone)
    _revoke(client, tokens["access_token"])
    assert _introspect(client, tokens["access_token"]) == {"active": False}
    assert http.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401

    refreshed = client.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=client.auth,
    ).json()
    _revoke(client, refreshed["refresh_token"])  # takes the family with it
    assert _introspect(client, refreshed["refresh_token"]) == {"active": False}
    again = client.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=client.auth,
    )
    assert again.json()["error"] == "invalid_grant"


def test_revoking_a_refresh_token_ends_the_access_tokens_of_its_grant(admin, http, phone):
    # RFC 7009 §2.1: access tokens based on the same grant SHOULD go with the refresh token.
    client = _client(admin, http)
    tokens = _tokens(client, phone)
    refreshed = client.http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=client.auth,
    ).json()
    other_login = _tokens(client, phone)
    _revoke(client, refreshed["refresh_token"])
    for access_token in (tokens["access_token"], refreshed["access_token"]):
        assert _introspect(client, access_token) == {"active": False}
        assert http.get("/userinfo", headers=_bearer(access_token)).status_code == 401
    assert _introspect(client, other_login["access_token"])["active"] is True  # another grant


def test_revoke_says_nothing_about_tokens_it_will_not_touch(admin, http, phone):
    client = _client(admin, http)
    other = _client(admin, http)
    tokens = _tokens(client, phone)
    _revoke(other, tokens["refresh_token"])  # not its token: 200, and nothing happens
    _revoke(other, tokens["access_token"])
    _revoke(other, "unknown")
    assert _introspect(client, tokens["refresh_token"])["active"] is True
    assert _introspect(client, tokens["access_token"])["active"] is True
    missing = http.post("/revoke", data={}, auth=client.auth)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_public_and_unauthenticated_clients_cannot_introspect(admin, http):
    public = register(
        admin, token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1:9999/cb"]
    )
    for form in ({"token": "x", "client_id": public["client_id"]}, {"token": "x"}):
        response = http.post("/introspect", data=form)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


def test_discovery_names_the_endpoints(http, server):
    metadata = http.get("/.well-known/openid-configuration").json()
    for name, path in (
        ("userinfo_endpoint", "/userinfo"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ):
        assert metadata[name] == server.url + path
    assert "none" not in metadata["introspection_endpoint_auth_methods_supported"]
    assert "refresh_token" in metadata["grant_types_supported"]
