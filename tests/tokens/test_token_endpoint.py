"""POST /token: grant dispatch, the client_credentials grant, RFC 9068 access tokens, errors."""

from __future__ import annotations

import jwt
import pytest

from tests.support.clients import register


def _basic(client):
    return (client["client_id"], client["client_secret"])


def test_client_credentials_issues_a_verifiable_rfc9068_access_token(admin, http, server):
    client = register(admin, grant_types=["client_credentials"], scope="payments refunds")
    response = http.post("/token", data={"grant_type": "client_credentials"}, auth=_basic(client))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == server.settings.access_token_lifetime
    assert body["scope"] == "payments refunds"

    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA"
    signing_key = jwt.PyJWKClient(server.url + "/jwks").get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, signing_key.key, algorithms=["EdDSA"], audience=server.url, issuer=server.url
    )
    assert claims["sub"] == claims["client_id"] == client["client_id"]
    assert claims["scope"] == "payments refunds"
    assert claims["exp"] - claims["iat"] == server.settings.access_token_lifetime
    assert claims["jti"]


def test_requested_scope_is_narrowed_or_refused(admin, http):
    client = register(admin, grant_types=["client_credentials"], scope="payments refunds")
    narrowed = http.post(
        "/token", data={"grant_type": "client_credentials", "scope": "refunds"}, auth=_basic(client)
    )
    assert narrowed.json()["scope"] == "refunds"
    wider = http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "refunds admin"},
        auth=_basic(client),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    openid = http.post(
        "/token", data={"grant_type": "client_credentials", "scope": "openid"}, auth=_basic(client)
    )
    assert openid.json()["error"] == "invalid_scope"


def test_default_openid_scope_is_dropped_for_client_credentials(admin, http):
    client = register(admin, grant_types=["client_credentials"])  # scope defaults to "openid"
    body = http.post(
        "/token", data={"grant_type": "client_credentials"}, auth=_basic(client)
    ).json()
    assert "scope" not in body
    assert "scope" not in jwt.decode(body["access_token"], options={"verify_signature": False})


def test_a_client_without_the_grant_is_unauthorized_client(admin, http):
    client = register(admin, redirect_uris=["https://app.example.com/cb"])
    response = http.post("/token", data={"grant_type": "client_credentials"}, auth=_basic(client))
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "x" * 5000}, "unsupported_grant_type"),
    ],
)
def test_grant_type_errors(http, data, error):
    response = http.post("/token", data=data)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert len(response.json()["error_description"]) < 300


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (
            b"grant_type=client_credentials&grant_type=client_credentials",
            "application/x-www-form-urlencoded",
        ),
        (b"grant_type=%ff%fe", "application/x-www-form-urlencoded"),
        (b"", "text/plain"),
        (b"a=" + b"x" * 70000, "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_requests_are_invalid_request(http, content, content_type):
    response = http.post("/token", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_get_on_token_endpoint_is_refused_cleanly(http):
    response = http.get("/token")
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"
