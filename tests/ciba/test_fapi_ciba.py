"""FAPI-CIBA at request time: a conforming client polls to tokens with a signed request and
private_key_jwt; an unsigned request, another assertion alg and a long requested_expiry are
refused with the error /bc-authorize uses."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.support.ciba import CIBA, Phone
from tests.support.clients import JWT_BEARER, ClientKey, register
from tests.support.fapi import fapi_ciba_metadata


@pytest.fixture
def key():
    return ClientKey("PS256")


@pytest.fixture
def client_id(admin, key):
    return str(register(admin, **fapi_ciba_metadata(key))["client_id"])


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "fiona")


def _auth(key: ClientKey, client_id: str, issuer: str, alg_key: ClientKey | None = None) -> dict:
    signer = alg_key or key
    return {
        "client_id": client_id,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": signer.assertion(client_id, issuer),
    }


def _request(key: ClientKey, client_id: str, issuer: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": client_id,
        "aud": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": "openid",
        "login_hint": "fiona",
        "binding_message": "FAPI 7",
        **claims,
    }
    return key.sign(body)


def _error(response) -> tuple[str, str]:
    assert response.status_code in (400, 401), response.text
    return response.json()["error"], response.json()["error_description"]


def test_a_fapi_ciba_client_polls_to_tokens_with_a_signed_request(
    http, server, key, client_id, phone
):
    form = {"request": _request(key, client_id, server.url), **_auth(key, client_id, server.url)}
    started = http.post("/bc-authorize", data=form)
    assert started.status_code == 200, started.text
    auth_req_id = started.json()["auth_req_id"]
    assert phone.answer("approve")["binding_message"] == "FAPI 7"
    poll = {"grant_type": CIBA, "auth_req_id": auth_req_id, **_auth(key, client_id, server.url)}
    tokens = http.post("/token", data=poll)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "Bearer" and "id_token" in tokens.json()


def test_an_unsigned_request_is_refused(http, server, key, client_id, phone):
    form = {"scope": "openid", "login_hint": "fiona", **_auth(key, client_id, server.url)}
    error, described = _error(http.post("/bc-authorize", data=form))
    assert error == "invalid_request" and "FAPI-CIBA" in described and "signed" in described
    assert phone.pending() == []


def test_a_request_object_signed_with_rs256_is_refused(http, server, key, client_id):
    rs256 = ClientKey("RS256", kid=key.kid)
    form = {"request": _request(rs256, client_id, server.url), **_auth(key, client_id, server.url)}
    error, described = _error(http.post("/bc-authorize", data=form))
    assert error == "invalid_request" and "PS256" in described


def test_a_client_assertion_signed_with_rs256_is_refused(http, server, key, client_id):
    rs256 = ClientKey("RS256", kid=key.kid)
    form = {"request": _request(key, client_id, server.url)}
    response = http.post("/bc-authorize", data={**form, **_auth(key, client_id, server.url, rs256)})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "PS256" in response.json()["error_description"]


def test_requested_expiry_beyond_the_fapi_bound_is_refused(http, server, key, client_id, phone):
    long = _request(key, client_id, server.url, requested_expiry=601)
    form = {"request": long, **_auth(key, client_id, server.url)}
    error, described = _error(http.post("/bc-authorize", data=form))
    assert error == "invalid_request" and "at most 600" in described
    bounded = _request(key, client_id, server.url, requested_expiry=600)
    started = http.post(
        "/bc-authorize", data={"request": bounded, **_auth(key, client_id, server.url)}
    )
    assert started.status_code == 200, started.text
    assert started.json()["expires_in"] <= 600


def test_the_headless_socket_refuses_a_fapi_ciba_client(server, key, client_id, phone):
    # The start frame carries no request object, so FAPI-CIBA's signed request cannot be met.
    frame = {"type": "start", "scope": "openid", "login_hint": "fiona"}
    frame.update(_auth(key, client_id, server.url))
    url = server.url.replace("http://", "ws://") + "/headless"
    with connect(url) as ws:
        ws.send(json.dumps(frame))
        answer = json.loads(ws.recv(timeout=5))
    assert answer["type"] == "error" and answer["error"] == "invalid_request"
    assert "FAPI-CIBA" in answer["error_description"]
    assert phone.pending() == []
