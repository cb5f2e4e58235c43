"""DPoP (RFC 9449) over a live server: tokens bound at /token (CIBA poll, refresh, client
credentials), refused at /userinfo without the key, proofs single-use, server nonces."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.conftest import api_clients, make_settings
from tests.support.ciba import CIBA, CibaClient, Phone
from tests.support.live import LiveServer
from tests.support.payments import DpopKey


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "dora")


@pytest.fixture
def client(admin, http):
    return CibaClient.register(
        admin, http, scope="openid profile offline_access", grant_types=[CIBA, "refresh_token"]
    )


def _bound_tokens(client, phone, server, key):
    auth_req_id = client.start(login_hint="dora", scope="openid profile offline_access")
    phone.answer("approve")
    response = client.poll(auth_req_id, dpop=key.proof("POST", server.url + "/token"))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_ciba_poll_with_a_proof_gets_a_dpop_bound_token(client, phone, server, http):
    key = DpopKey()
    body = _bound_tokens(client, phone, server, key)
    assert body["token_type"] == "DPoP"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}
    introspected = http.post("/introspect", data={"token": body["access_token"]}, auth=client.auth)
    assert introspected.json()["cnf"] == {"jkt": key.jkt}
    assert introspected.json()["token_type"] == "DPoP"

    url = server.url + "/userinfo"
    token = body["access_token"]
    ok = http.get(
        "/userinfo",
        headers={"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url, token)},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["sub"]


def test_userinfo_refuses_a_bound_token_without_or_with_a_wrong_proof(client, phone, server, http):
    key = DpopKey()
    token = _bound_tokens(client, phone, server, key)["access_token"]
    url = server.url + "/userinfo"
    attempts = {
        "as bearer": {"Authorization": f"Bearer {token}"},
        "no proof": {"Authorization": f"DPoP {token}"},
        "another key": {
            "Authorization": f"DPoP {token}",
            "DPoP": DpopKey().proof("GET", url, token),
        },
        "no ath": {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url)},
        "wrong method": {"Authorization": f"DPoP {token}", "DPoP": key.proof("POST", url, token)},
        "wrong uri": {
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", server.url + "/token", token),
        },
        "old iat": {
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", url, token, iat=int(time.time()) - 3600),
        },
    }
    for what, headers in attempts.items():
        response = http.get("/userinfo", headers=headers)
        assert response.status_code == 401, what
        assert response.json()["error"] == "invalid_token", what
        assert response.headers["www-authenticate"].startswith(("DPoP", "Bearer")), what


def test_a_replayed_proof_is_refused(client, phone, server, http):
    key = DpopKey()
    token = _bound_tokens(client, phone, server, key)["access_token"]
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": key.proof("GET", server.url + "/userinfo", token),
    }
    assert http.get("/userinfo", headers=headers).status_code == 200
    again = http.get("/userinfo", headers=headers)
    assert again.status_code == 401
    assert "used before" in again.json()["error_description"]


def test_bad_proofs_at_the_token_endpoint_are_invalid_dpop_proof(client, phone, server):
    key = DpopKey()
    auth_req_id = client.start(login_hint="dora")
    phone.answer("approve")
    token_url = server.url + "/token"
    bad = {
        "not a jwt": "nope",
        "wrong typ": jwt.encode(
            {"htm": "POST", "htu": token_url, "iat": int(time.time()), "jti": "x1"},
            key.key.private,
            algorithm="ES256",
            headers={"typ": "JWT", "jwk": key.jwk},
        ),
        "wrong htm": key.proof("GET", token_url),
        "wrong htu": key.proof("POST", server.url + "/userinfo"),
        "future iat": key.proof("POST", token_url, iat=int(time.time()) + 3600),
        "no jti": key.proof("POST", token_url, jti=None),
    }
    for what, proof in bad.items():
        response = client.poll(auth_req_id, dpop=proof)
        assert response.status_code == 400, what
        assert response.json()["error"] == "invalid_dpop_proof", what
    proof = key.proof("POST", token_url)
    assert client.poll(auth_req_id, dpop=proof).status_code == 200  # the request is still fine


def test_dpop_bound_access_tokens_makes_a_proof_mandatory(admin, http, phone, server):
    client = CibaClient.register(admin, http, dpop_bound_access_tokens=True)
    auth_req_id = client.start(login_hint="dora")
    phone.answer("approve")
    refused = client.poll(auth_req_id)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_dpop_proof"
    granted = client.poll(auth_req_id, dpop=DpopKey().proof("POST", server.url + "/token"))
    assert granted.json()["token_type"] == "DPoP"


def test_refresh_binds_the_new_access_token_to_the_proof(client, phone, server, http):
    key = DpopKey()
    body = _bound_tokens(client, phone, server, key)
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    other = DpopKey()
    refreshed = http.post(
        "/token",
        data=form,
        auth=client.auth,
        headers={"DPoP": other.proof("POST", server.url + "/token")},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "DPoP"
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": other.jkt}


def test_client_credentials_with_a_proof_is_bound(admin, http, server):
    registered = admin.post(
        "/admin/clients", json={"grant_types": ["client_credentials"], "scope": "openid"}
    ).json()
    key = DpopKey("EdDSA")
    response = http.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(registered["client_id"], registered["client_secret"]),
        headers={"DPoP": key.proof("POST", server.url + "/token")},
    )
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}


def test_server_nonces_are_demanded_then_accepted(database_url):
    def settings(issuer):
        return make_settings(database_url, issuer=issuer, dpop_nonce_required=True)

    with LiveServer.start(settings) as server, api_clients(server.url) as (admin, http):
        registered = admin.post(
            "/admin/clients", json={"grant_types": ["client_credentials"], "scope": "openid"}
        ).json()
        auth = (registered["client_id"], registered["client_secret"])
        key = DpopKey()
        url = server.url + "/token"
        form = {"grant_type": "client_credentials"}
        first = http.post("/token", data=form, auth=auth, headers={"DPoP": key.proof("POST", url)})
        assert first.status_code == 400
        assert first.json()["error"] == "use_dpop_nonce"
        nonce = first.headers["dpop-nonce"]
        stale = key.proof("POST", url, nonce="made-up")
        assert http.post("/token", data=form, auth=auth, headers={"DPoP": stale}).status_code == 400
        proof = key.proof("POST", url, nonce=nonce)
        second = http.post("/token", data=form, auth=auth, headers={"DPoP": proof})
        assert second.status_code == 200, second.text
        assert second.json()["token_type"] == "DPoP"


def test_userinfo_asks_for_the_servers_nonce_with_a_401_dpop_challenge(database_url):
    def settings(issuer):
        return make_settings(database_url, issuer=issuer, dpop_nonce_required=True)

    with LiveServer.start(settings) as server, api_clients(server.url) as (admin, http):
        phone = Phone.enroll(admin, http, server.url, "dora")
        client = CibaClient.register(admin, http, scope="openid profile")
        key = DpopKey()
        token_url, userinfo_url = server.url + "/token", server.url + "/userinfo"
        auth_req_id = client.start(login_hint="dora", scope="openid profile")
        phone.answer("approve")
        asked = client.poll(auth_req_id, dpop=key.proof("POST", token_url))
        assert asked.json()["error"] == "use_dpop_nonce"
        nonce = asked.headers["dpop-nonce"]
        tokens = client.poll(auth_req_id, dpop=key.proof("POST", token_url, nonce=nonce))
        assert tokens.status_code == 200, tokens.text
        token = tokens.json()["access_token"]

        # RFC 9449 §9: a resource asks for its nonce with 401 and a DPoP challenge.
        for stale in (None, "made-up"):
            proof = key.proof("GET", userinfo_url, token, nonce=stale)
            asked = http.get("/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
            assert asked.status_code == 401, asked.text
            challenge = asked.headers["www-authenticate"]
            assert challenge.startswith("DPoP ") and 'error="use_dpop_nonce"' in challenge
            nonce = asked.headers["dpop-nonce"]
        proof = key.proof("GET", userinfo_url, token, nonce=nonce)
        answered = http.get("/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
        assert answered.status_code == 200, answered.text
        id_token = jwt.decode(tokens.json()["id_token"], options={"verify_signature": False})
        assert answered.json()["sub"] == id_token["sub"]
