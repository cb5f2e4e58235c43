"""Signed authentication requests (CIBA Core §7.1.1): every rule checked one claim at a time."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.support.ciba import CibaClient, Phone
from tests.support.clients import ClientKey
from tests.support.errors import assert_error_text


@pytest.fixture
def key():
    return ClientKey("PS256")


@pytest.fixture
def client(admin, http, key):
    return CibaClient.register(
        admin, http, jwks=key.jwks, backchannel_authentication_request_signing_alg="PS256"
    )


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "erin")


def _claims(client, server, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "aud": server.url,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": "openid",
        "login_hint": "erin",
        "binding_message": "signed 42",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _send(client, request: str, **extra: str):
    return client.http.post("/bc-authorize", data={"request": request, **extra}, auth=client.auth)


def _error(response) -> str:
    assert response.status_code == 400, response.text
    assert_error_text(response.json()["error_description"])  # PyJWT's words, made spec-safe
    return str(response.json()["error"])


@pytest.mark.parametrize("typ", [None, "JWT", "oauth-authz-req+jwt"])
def test_a_signed_request_starts_a_login_with_its_claims(client, key, phone, server, typ):
    headers = {"typ": typ} if typ else {}
    response = _send(client, key.sign(_claims(client, server, requested_expiry=90), headers))
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 90  # a number in the JWT is fine
    assert phone.pending()[0]["binding_message"] == "signed 42"


def test_the_bc_authorize_endpoint_is_an_accepted_audience(client, key, phone, server):
    token = key.sign(_claims(client, server, aud=server.url + "/bc-authorize"))
    assert _send(client, token).status_code == 200


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "nbf", "jti"])
def test_each_registered_claim_is_required(client, key, phone, server, claim):
    assert _error(_send(client, key.sign(_claims(client, server, **{claim: None})))) == (
        "invalid_request"
    )
    assert phone.pending() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "someone-else"},
        {"aud": "https://other.example"},
        {"exp": int(time.time()) - 120},
        {"nbf": int(time.time()) + 600},
        {"iat": int(time.time()) + 600},
        # lifetime over 60 minutes, and an nbf from long ago
        {"nbf": int(time.time()), "exp": int(time.time()) + 3700},
        {"nbf": int(time.time()) - 4000, "exp": int(time.time()) + 60},
        {"jti": ""},
        {"jti": 12345},
        {"requested_expiry": 1.5},
        {"jti": "a\x00b"},
        {"login_hint": "er\x00in"},
        {"acr_values": "urn:\x00"},
        {"binding_message": ["not", "a", "string"]},
    ],
)
def test_each_bad_claim_is_refused(client, key, phone, server, overrides):
    now = int(time.time())
    claims = _claims(client, server, **overrides)
    if "exp" not in overrides and "nbf" in overrides and overrides["nbf"] > now:
        claims["exp"] = overrides["nbf"] + 60
    assert _error(_send(client, key.sign(claims))) == "invalid_request"
    assert phone.pending() == []


def test_a_jti_is_accepted_once(client, key, phone, server):
    token = key.sign(_claims(client, server))
    assert _send(client, token).status_code == 200
    assert _error(_send(client, key.sign(_claims(client, server, jti=_jti(token))))) == (
        "invalid_request"
    )


def _jti(token: str) -> str:
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def test_only_the_registered_algorithm_and_key_are_accepted(client, key, phone, server):
    claims = _claims(client, server)
    rs256 = ClientKey("RS256", kid=key.kid)
    rs256.private = key.private
    assert _error(_send(client, rs256.sign(claims))) == "invalid_request"  # RS256 ≠ PS256
    stranger = ClientKey("PS256", kid=key.kid)
    assert _error(_send(client, stranger.sign(_claims(client, server)))) == "invalid_request"
    unsigned = "eyJhbGciOiJub25lIn0." + key.sign(claims).split(".")[1] + "."
    assert _error(_send(client, unsigned)) == "invalid_request"
    bad_typ = key.sign(_claims(client, server), {"typ": "at+jwt"})
    assert _error(_send(client, bad_typ)) == "invalid_request"


def test_a_client_registered_to_sign_must_sign(client, phone):
    response = client.authorize(login_hint="erin")
    assert _error(response) == "invalid_request"
    assert "signed" in response.json()["error_description"]


def test_parameters_must_not_also_appear_outside(client, key, phone, server):
    token = key.sign(_claims(client, server))
    assert _error(_send(client, token, login_hint="erin")) == "invalid_request"


def test_a_client_not_registered_to_sign_may_not_send_one(admin, http, key, phone, server):
    plain = CibaClient.register(admin, http, jwks=key.jwks)
    assert _error(_send(plain, key.sign(_claims(plain, server)))) == "invalid_request"


def test_request_uri_is_not_supported(client, phone):
    response = client.http.post(
        "/bc-authorize", data={"request_uri": "urn:example:1"}, auth=client.auth
    )
    assert _error(response) == "request_uri_not_supported"
