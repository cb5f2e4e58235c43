"""The CIBA grant in poll mode over real HTTP: pending, slow_down, long poll, the tokens, the
race of two polls, and the re-checks made when the tokens are finally handed out."""

from __future__ import annotations

import threading
import time

import jwt
import pytest

from app.devices.decisions import ACR
from tests.support.ciba import CIBA, CibaClient, Phone, left_hash, long_poll_while, verify_id_token

AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id"


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "frank")


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http)


def _error(response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["error"])


def _interval(server, auth_req_id: str) -> int:
    request = server.call(lambda s: s.requests.by_auth_req_id(auth_req_id))
    return int(request.interval)


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "PS256"])
def test_pending_then_approved_then_tokens(admin, http, phone, server, alg):
    client = CibaClient.register(admin, http, id_token_signed_response_alg=alg)
    auth_req_id = client.start(login_hint="frank", binding_message="Call 77")
    assert _error(client.poll(auth_req_id)) == "authorization_pending"
    before = int(time.time())
    phone.answer("approve")

    response = client.poll(auth_req_id)  # approved: answered at once, however soon
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid"
    assert "refresh_token" not in body
    claims = verify_id_token(server.url, body["id_token"], client.client_id)
    assert jwt.get_unverified_header(body["id_token"])["alg"] == alg
    assert claims["sub"] == phone.user["id"]
    assert claims["acr"] == ACR
    assert claims["amr"] == ["swk", "user"]
    assert before - 1 <= claims["auth_time"] <= int(time.time()) + 1
    assert claims["at_hash"] == left_hash(body["access_token"], alg)
    assert claims[AUTH_REQ_ID_CLAIM] == auth_req_id
    assert "urn:openid:params:jwt:claim:rt_hash" not in claims  # push mode only

    # Tokens are minted once: the same id never redeems again.
    assert _error(client.poll(auth_req_id)) == "invalid_grant"


def test_a_client_that_registered_no_alg_gets_rs256_id_tokens(admin, http, phone, server):
    # OpenID Connect Registration §2: id_token_signed_response_alg defaults to RS256, which
    # every relying party library can verify; access tokens keep the server's EdDSA default.
    client = CibaClient.register(admin, http)
    auth_req_id = client.start(login_hint="frank")
    phone.answer("approve")
    body = client.poll(auth_req_id).json()
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = verify_id_token(server.url, body["id_token"], client.client_id)
    assert claims["at_hash"] == left_hash(body["access_token"], "RS256")
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "EdDSA"


def test_polling_faster_than_the_interval_slows_down_by_five_seconds(client, phone, server):
    auth_req_id = client.start(login_hint="frank")
    assert _error(client.poll(auth_req_id)) == "authorization_pending"
    assert _error(client.poll(auth_req_id)) == "slow_down"
    assert _interval(server, auth_req_id) == server.settings.ciba_poll_interval + 5
    assert _error(client.poll(auth_req_id)) == "slow_down"
    assert _interval(server, auth_req_id) == server.settings.ciba_poll_interval + 10


def test_two_polls_after_approval_get_one_set_of_tokens(client, phone):
    for _ in range(3):
        auth_req_id = client.start(login_hint="frank")
        phone.answer("approve")
        assert sorted(_race(client, auth_req_id)) == [(200, "tokens"), (400, "invalid_grant")]


def _race(client, auth_req_id: str) -> list[tuple[int, str]]:
    barrier = threading.Barrier(2)
    statuses: list[tuple[int, str]] = []

    def poll() -> None:
        barrier.wait()
        response = client.poll(auth_req_id)
        statuses.append((response.status_code, response.json().get("error", "tokens")))

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_a_denial_is_access_denied_at_every_poll(client, phone):
    auth_req_id = client.start(login_hint="frank")
    phone.answer("deny")
    response = client.poll(auth_req_id)
    assert _error(response) == "access_denied"
    assert _error(client.poll(auth_req_id)) == "access_denied"


def test_an_expired_request_is_expired_token(client, phone):
    auth_req_id = client.start(login_hint="frank", requested_expiry="1")
    time.sleep(1.1)
    assert _error(client.poll(auth_req_id)) == "expired_token"
    assert phone.pending() == []


def test_unknown_foreign_and_missing_ids(admin, http, client, phone):
    auth_req_id = client.start(login_hint="frank")
    other = CibaClient.register(admin, http)
    assert _error(other.poll(auth_req_id)) == "invalid_grant"
    assert _error(client.poll("no-such-id")) == "invalid_grant"
    # The request's own id with a made-up secret: found by its id, refused by the hash.
    request_id, _, secret = auth_req_id.partition(".")
    assert _error(client.poll(f"{request_id}.{secret[::-1]}")) == "invalid_grant"
    assert _error(client.poll(request_id)) == "invalid_grant"
    assert _error(client.poll(f"{request_id}.")) == "invalid_grant"
    missing = http.post("/token", data={"grant_type": CIBA}, auth=client.auth)
    assert _error(missing) == "invalid_request"
    # The foreign poll did not count against the owner's interval.
    assert _error(client.poll(auth_req_id)) == "authorization_pending"


def test_push_clients_may_not_poll(admin, http, phone, server):
    push = CibaClient.register(
        admin,
        http,
        backchannel_token_delivery_mode="push",
        backchannel_client_notification_endpoint=server.url + "/cb",
    )
    auth_req_id = push.start(login_hint="frank", client_notification_token="t0k")
    assert _error(push.poll(auth_req_id)) == "unauthorized_client"


def test_offline_access_brings_a_refresh_token_stored_only_as_a_hash(admin, http, phone, server):
    client = CibaClient.register(
        admin, http, grant_types=[CIBA, "refresh_token"], scope="openid offline_access"
    )
    auth_req_id = client.start(login_hint="frank", scope="openid offline_access")
    phone.answer("approve")
    body = client.poll(auth_req_id).json()
    token = body["refresh_token"]
    assert len(token) >= 43

    async def rows(s):
        from sqlmodel import select

        from app.tokens.refresh import RefreshToken

        async with s.db.session() as session:
            return (await session.exec(select(RefreshToken))).all()

    (row,) = server.call(rows)
    assert token not in (row.token_hash, row.id, row.family_id)
    assert row.scope == "openid offline_access" and row.user_id == phone.user["id"]


class TestLongPoll:
    def test_a_long_poll_is_answered_the_moment_the_phone_approves(self, client, phone):
        auth_req_id = client.start(login_hint="frank")
        response, latency = long_poll_while(client, auth_req_id, lambda: phone.answer("approve"))
        assert response.status_code == 200, response.text
        assert "id_token" in response.json()
        assert latency < 2.0  # not the 5 s the client allowed
        print(f"long poll answered {latency * 1000:.0f} ms after the approval")

    def test_a_long_poll_without_a_decision_waits_then_says_pending(self, client, phone):
        auth_req_id = client.start(login_hint="frank")
        started = time.monotonic()
        response = client.poll(auth_req_id, prefer="wait=1")
        took = time.monotonic() - started
        assert _error(response) == "authorization_pending"
        assert 0.9 <= took < 3

    def test_a_long_poll_learns_of_a_denial(self, client, phone):
        auth_req_id = client.start(login_hint="frank")
        threading.Timer(0.3, lambda: phone.answer("deny")).start()
        assert _error(client.poll(auth_req_id, prefer="wait=5")) == "access_denied"


class TestRecheckAtRedemption:
    def test_a_user_disabled_after_approving_gets_no_tokens(self, admin, client, phone):
        auth_req_id = client.start(login_hint="frank")
        phone.answer("approve")
        admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
        assert _error(client.poll(auth_req_id)) == "access_denied"
        admin.patch(f"/admin/users/{phone.user['id']}", json={"active": True})
        assert _error(client.poll(auth_req_id)) == "access_denied"  # denied for good

    def test_a_device_removed_after_approving_gives_no_tokens(self, admin, client, phone):
        auth_req_id = client.start(login_hint="frank")
        phone.answer("approve")
        assert admin.delete(f"/admin/devices/{phone.device.device_id}").status_code == 204
        assert _error(client.poll(auth_req_id)) == "access_denied"

    def test_a_client_that_lost_the_grant_cannot_redeem(self, admin, client, phone):
        auth_req_id = client.start(login_hint="frank")
        phone.answer("approve")
        admin.patch(
            f"/admin/clients/{client.client_id}",
            json={"grant_types": ["client_credentials"], "backchannel_token_delivery_mode": None},
        )
        response = client.poll(auth_req_id)
        assert response.status_code == 400
        assert response.json()["error"] == "unauthorized_client"
