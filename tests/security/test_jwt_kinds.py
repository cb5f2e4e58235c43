"""A JWT made as one kind is never accepted as another: a phone's decision is not its device
assertion, and a client's request object, client assertion and login hint token are not each
other (issue 16, finding 5; app/jwt_kinds.py)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.support.ciba import CibaClient, Phone
from tests.support.clients import JWT_BEARER, ClientKey
from tests.support.requests import ciba_client


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "erin", email="erin@example.com")


def test_a_decision_jwt_is_not_a_device_assertion(http, phone):
    decision = phone.device.decision_jwt("some-request-id", "deny")
    response = http.get("/devices/me/requests", headers={"Authorization": f"Bearer {decision}"})
    assert response.status_code == 401, response.text
    assert "must not carry decision, request_id" in response.json()["error_description"]
    # A device assertion that names a request is refused the same way.
    named = phone.device.auth(request_id="x")
    assert http.get("/devices/me/requests", headers=named).status_code == 401
    assert http.get("/devices/me/requests", headers=phone.device.auth()).status_code == 200


@pytest.fixture
def key():
    return ClientKey("ES256")


@pytest.fixture
def signer(admin, http, key):
    """A CIBA client that authenticates with private_key_jwt and signs its requests."""
    client = ciba_client(
        admin,
        jwks=key.jwks,
        token_endpoint_auth_method="private_key_jwt",
        backchannel_authentication_request_signing_alg="ES256",
    )
    return client["client_id"]


def _both_kinds(client_id: str, audience: str, **extra: Any) -> dict[str, Any]:
    """Claims that satisfy a client assertion and a request object at once (``None`` drops
    one)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "scope": "openid",
        "login_hint": "erin",
        **extra,
    }
    return {name: value for name, value in claims.items() if value is not None}


def test_one_jwt_is_not_both_the_client_assertion_and_the_request(http, server, key, signer, phone):
    token = key.sign(_both_kinds(signer, server.url))
    response = http.post(
        "/bc-authorize",
        data={"client_assertion_type": JWT_BEARER, "client_assertion": token, "request": token},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert "must not carry scope" in response.json()["error_description"]
    assert phone.pending() == []


def test_a_request_object_does_not_authenticate_its_client(http, server, key, signer):
    typed = key.sign(_both_kinds(signer, server.url), {"typ": "oauth-authz-req+jwt"})
    for token in (typed, key.sign(_both_kinds(signer, server.url))):
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": token,
        }
        response = http.post("/token", data=form)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"


def test_a_client_assertion_is_not_a_request_object(http, server, key, signer, phone):
    # Typed as a client assertion, or lacking the scope every CIBA request carries.
    typed = key.sign(_both_kinds(signer, server.url), {"typ": "client-authentication+jwt"})
    for request in (typed, key.sign(_both_kinds(signer, server.url, scope=None))):
        form = {
            "client_assertion_type": JWT_BEARER,
            "client_assertion": key.assertion(signer, server.url),
            "request": request,
        }
        response = http.post("/bc-authorize", data=form)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
    assert phone.pending() == []


def test_a_login_hint_token_does_not_authenticate_its_client(http, server, key, signer):
    hint = key.sign(
        {
            **_both_kinds(signer, server.url, scope=None),
            "sub_id": {"format": "email", "email": "erin@example.com"},
        }
    )
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
    response = http.post("/token", data={**form, "client_assertion": hint})
    assert response.status_code == 401, response.text
    assert "must not carry sub_id" in response.json()["error_description"]


def test_a_request_object_is_not_a_login_hint_token(admin, http, server, key, phone):
    client = CibaClient.register(admin, http, jwks=key.jwks)
    request_like = key.sign(
        {
            "sub_id": {"format": "email", "email": "erin@example.com"},
            "exp": int(time.time()) + 60,
            "scope": "openid",
        }
    )
    response = client.authorize(login_hint_token=request_like)
    assert response.status_code == 400, response.text
    assert "must not carry scope" in response.json()["error_description"]
    assert phone.pending() == []
