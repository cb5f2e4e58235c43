"""The headless start frame carries a payment's details and a DPoP proof: the tokens the socket
delivers carry what the phone approved and are bound to the client's key."""

from __future__ import annotations

import json

import jwt
import pytest
from websockets.sync.client import connect

from tests.support.ciba import CibaClient, Phone
from tests.support.payments import DpopKey, payment, shown_hash


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "ines")


def _start(client, **params):
    return {"type": "start", "client_id": client.client_id, "client_secret": client.secret,
            "scope": "openid", **params}  # fmt: skip


def test_headless_payment_with_dpop_delivers_bound_tokens_with_the_details(
    admin, http, server, phone
):
    client = CibaClient.register(admin, http)
    key = DpopKey()
    details = [payment("9.99", "Till 3", "A1")]
    proof = key.proof("POST", server.url + "/token")  # the documented htu: the token endpoint
    with connect(server.url.replace("http://", "ws://") + "/headless") as ws:
        ws.send(json.dumps(_start(client, login_hint="ines", authorization_details=details,
                                  dpop=proof)))  # fmt: skip
        pending = json.loads(ws.recv(timeout=5))
        assert pending["type"] == "pending", pending
        (shown,) = phone.pending()
        assert shown["authorization_details_text"] == [
            "Pay 9.99 EUR to Till 3 (DE02100100109307118603), ref A1"
        ]
        hashed = shown_hash(shown["authorization_details"])
        decided = phone.device.decide(
            http, shown["id"], "approve", authorization_details_hash=hashed
        )
        assert decided.status_code == 200, decided.text
        tokens = json.loads(ws.recv(timeout=5))
    assert tokens["type"] == "tokens" and tokens["token_type"] == "DPoP"
    assert tokens["authorization_details"] == details
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}
    assert claims["authorization_details"] == details


def test_headless_refuses_invalid_details_and_bad_proofs(admin, http, server, phone):
    client = CibaClient.register(admin, http)
    cases = {
        "invalid_authorization_details": {"authorization_details": [{"type": "loan"}]},
        "invalid_dpop_proof": {"dpop": DpopKey().proof("GET", server.url + "/token")},
    }
    for error, extra in cases.items():
        with connect(server.url.replace("http://", "ws://") + "/headless") as ws:
            ws.send(json.dumps(_start(client, login_hint="ines", **extra)))
            frame = json.loads(ws.recv(timeout=5))
        assert frame["type"] == "error" and frame["error"] == error, frame
    assert phone.pending() == []


def test_a_request_bound_at_start_is_redeemed_at_token_only_with_that_key(
    admin, http, server, phone
):
    client = CibaClient.register(admin, http)
    key = DpopKey()
    with connect(server.url.replace("http://", "ws://") + "/headless") as ws:
        ws.send(json.dumps(_start(client, login_hint="ines",
                                  dpop=key.proof("POST", server.url + "/token"))))  # fmt: skip
        auth_req_id = json.loads(ws.recv(timeout=5))["auth_req_id"]
    phone.answer("approve")  # the socket is gone: the client polls instead
    plain = client.poll(auth_req_id)
    assert plain.json()["error"] == "invalid_dpop_proof"
    other = client.poll(auth_req_id, dpop=DpopKey().proof("POST", server.url + "/token"))
    assert other.json()["error"] == "invalid_dpop_proof"
    good = client.poll(auth_req_id, dpop=key.proof("POST", server.url + "/token"))
    assert good.status_code == 200, good.text
    assert good.json()["token_type"] == "DPoP"
