"""Ping and push delivery to a loopback notification receiver, through the outbox: the exact
requests, retries, refusals, redirects, expiry, and a restart between approval and delivery."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from sqlmodel import select

from app import features
from app.decoupled.handles import new_auth_req_id
from app.decoupled.service import NewRequest
from app.decoupled.states import Status
from app.devices.decisions import ACR, AMR
from app.outbox.models import OutboxMessage
from app.services import Services
from app.storage.migrations import upgrade
from app.storage.types import utcnow
from tests.conftest import _new_database, api_clients, make_settings
from tests.support.ciba import CibaClient, Phone, left_hash, verify_id_token
from tests.support.live import LiveServer
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id"
RT_HASH_CLAIM = "urn:openid:params:jwt:claim:rt_hash"


# Private keys and pushed tokens are encrypted at rest on this server.
KEY_ENCRYPTION_KEY = "bXlfMzJfYnl0ZV9rZXlfZm9yX2Zlcm5ldF90ZXN0cyE="


def _fast_outbox(url: str, issuer: str):
    # Retries a few hundred ms apart, so three attempts fit in a test.
    return make_settings(
        url,
        issuer=issuer,
        outbox_interval_seconds=0.1,
        outbox_max_delay_seconds=0.3,
        key_encryption_keys=KEY_ENCRYPTION_KEY,
    )


@pytest.fixture(scope="module")
def notify_server(tmp_path_factory) -> Iterator[LiveServer]:
    url, drop = _new_database(tmp_path_factory.mktemp("notify"))
    with LiveServer.start(lambda issuer: _fast_outbox(url, issuer)) as server:
        yield server
    drop()


@pytest.fixture
def clients(notify_server):
    with api_clients(notify_server.url) as pair:
        yield pair


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.start() as r:
        r.default = (204, b"")
        yield r


@pytest.fixture
def phone(clients, notify_server):
    admin, http = clients
    return Phone.enroll(admin, http, notify_server.url, f"u{time.monotonic_ns()}")


def _client(clients, receiver, mode: str, **metadata) -> CibaClient:
    admin, http = clients
    return CibaClient.register(
        admin,
        http,
        backchannel_token_delivery_mode=mode,
        backchannel_client_notification_endpoint=receiver.url + "/cb",
        **metadata,
    )


def _outbox(server, kind: str) -> list[OutboxMessage]:
    async def rows(s):
        async with s.db.session() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == kind)
            return list((await session.exec(query)).all())

    return server.call(rows)


def _request(server, auth_req_id: str):
    return server.call(lambda s: s.requests.by_auth_req_id(auth_req_id))


def _posts(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.requests]


class TestPing:
    def test_approval_pings_then_the_client_redeems(self, clients, receiver, phone):
        client = _client(clients, receiver, "ping")
        auth_req_id = client.start(
            login_hint=phone.user["username"], client_notification_token="n-1"
        )
        assert receiver.requests == []  # nothing before the user answers
        phone.answer("approve")
        wait_for(lambda: receiver.requests)
        (ping,) = receiver.requests
        assert ping.method == "POST" and ping.path == "/cb"
        assert ping.headers["authorization"] == "Bearer n-1"
        assert ping.headers["content-type"] == "application/json"
        assert json.loads(ping.body) == {"auth_req_id": auth_req_id}
        response = client.poll(auth_req_id)
        assert response.status_code == 200 and "id_token" in response.json()

    def test_denial_pings_too_and_the_poll_says_access_denied(self, clients, receiver, phone):
        client = _client(clients, receiver, "ping")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="n")
        phone.answer("deny")
        wait_for(lambda: receiver.requests)
        assert _posts(receiver) == [{"auth_req_id": auth_req_id}]
        assert client.poll(auth_req_id).json()["error"] == "access_denied"

    def test_two_failures_then_success_is_one_successful_delivery(
        self, clients, receiver, phone, notify_server
    ):
        receiver.responses = [(500, {}), (503, {})]
        client = _client(clients, receiver, "ping")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="n")
        phone.answer("approve")
        wait_for(lambda: len(receiver.requests) >= 3)
        time.sleep(0.5)  # room for a wrong extra attempt to show up
        assert _posts(receiver) == [{"auth_req_id": auth_req_id}] * 3
        (row,) = [
            r
            for r in _outbox(notify_server, "ciba-ping")
            if r.payload["request_id"] == _request(notify_server, auth_req_id).id
        ]
        assert (row.status, row.attempts, row.last_error) == ("done", 3, None)

    @pytest.mark.parametrize("status", [401, 403])
    def test_a_refusal_is_recorded_and_never_retried(
        self, clients, receiver, phone, notify_server, status
    ):
        receiver.default = (status, {"error": "no"})
        client = _client(clients, receiver, "ping")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="n")
        phone.answer("approve")
        wait_for(lambda: receiver.requests)
        request = _request(notify_server, auth_req_id)
        wait_for(lambda: _request(notify_server, auth_req_id).extra.get("delivery_error"))
        time.sleep(0.5)
        assert len(receiver.requests) == 1
        (row,) = [
            r for r in _outbox(notify_server, "ciba-ping") if r.payload["request_id"] == request.id
        ]
        assert row.status == "dead" and str(status) in row.last_error
        assert _request(notify_server, auth_req_id).extra["delivery_error"] == "ping_failed"
        # The tokens still wait at /token: a ping client may poll.
        assert client.poll(auth_req_id).status_code == 200

    def test_a_huge_answer_still_counts_by_its_status(
        self, clients, receiver, phone, notify_server
    ):
        receiver.default = (200, b"x" * 1_000_000)  # we read 64 KiB of it, then stop
        client = _client(clients, receiver, "ping")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="n")
        phone.answer("approve")
        request_id = _request(notify_server, auth_req_id).id
        wait_for(
            lambda: (
                [
                    r.status
                    for r in _outbox(notify_server, "ciba-ping")
                    if r.payload["request_id"] == request_id
                ]
                == ["done"]
            )
        )
        assert len(receiver.requests) == 1

    def test_a_redirect_is_not_followed(self, clients, receiver, phone):
        receiver.default = (302, {})
        client = _client(clients, receiver, "ping")
        client.start(login_hint=phone.user["username"], client_notification_token="n")
        phone.answer("approve")
        wait_for(lambda: receiver.requests)
        time.sleep(0.5)
        assert [r.path for r in receiver.requests] == ["/cb"]


class TestPush:
    def test_approval_pushes_the_tokens_once(self, clients, receiver, phone, notify_server):
        client = _client(
            clients,
            receiver,
            "push",
            grant_types=["urn:openid:params:grant-type:ciba", "refresh_token"],
            scope="openid offline_access",
        )
        auth_req_id = client.start(
            login_hint=phone.user["username"],
            scope="openid offline_access",
            client_notification_token="push-tok",
        )
        phone.answer("approve")
        wait_for(lambda: receiver.requests)
        (push,) = receiver.requests
        assert push.headers["authorization"] == "Bearer push-tok"
        body = json.loads(push.body)
        assert body["auth_req_id"] == auth_req_id
        assert body["token_type"] == "Bearer" and body["scope"] == "openid offline_access"
        claims = verify_id_token(notify_server.url, body["id_token"], client.client_id)
        assert claims["sub"] == phone.user["id"]
        assert claims[AUTH_REQ_ID_CLAIM] == auth_req_id
        alg = jwt.get_unverified_header(body["id_token"])["alg"]
        assert claims["at_hash"] == left_hash(body["access_token"], alg)
        assert claims[RT_HASH_CLAIM] == left_hash(body["refresh_token"], alg)
        assert claims["acr"] == ACR and claims["amr"] == AMR
        assert _request(notify_server, auth_req_id).status == Status.CONSUMED
        # Delivered: the tokens no longer sit in the outbox row.
        request_id = _request(notify_server, auth_req_id).id
        wait_for(
            lambda: all(
                r.status == "done"
                for r in _outbox(notify_server, "ciba-push")
                if r.payload["request_id"] == request_id
            )
        )
        rows = [
            r for r in _outbox(notify_server, "ciba-push") if r.payload["request_id"] == request_id
        ]
        assert len(rows) == 1 and "sealed" not in rows[0].payload
        assert body["access_token"] not in json.dumps(rows[0].payload)

    def test_tokens_waiting_for_delivery_are_encrypted(
        self, clients, receiver, phone, notify_server
    ):
        receiver.default = (503, {})  # the client is down: the tokens wait in the outbox
        client = _client(clients, receiver, "push")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="t")
        phone.answer("approve")
        wait_for(lambda: len(receiver.requests) >= 2)  # tried, failed, tried again
        request_id = _request(notify_server, auth_req_id).id
        (row,) = [
            r for r in _outbox(notify_server, "ciba-push") if r.payload["request_id"] == request_id
        ]
        assert row.status == "pending"
        assert row.payload["sealed"].startswith("fernet:")
        assert "eyJ" not in json.dumps(row.payload)  # no JWT in the clear
        receiver.default = (204, b"")  # back up: the same tokens arrive, decrypted
        wait_for(
            lambda: all(
                r.status == "done"
                for r in _outbox(notify_server, "ciba-push")
                if r.payload["request_id"] == request_id
            )
        )
        bodies = _posts(receiver)
        assert all(b == bodies[0] for b in bodies) and bodies[0]["access_token"].startswith("eyJ")

    def test_denial_pushes_access_denied(self, clients, receiver, phone):
        client = _client(clients, receiver, "push")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="t")
        phone.answer("deny")
        wait_for(lambda: receiver.requests)
        (body,) = _posts(receiver)
        assert body["auth_req_id"] == auth_req_id and body["error"] == "access_denied"
        assert set(body) == {"auth_req_id", "error", "error_description"}

    def test_expiry_pushes_expired_token(self, clients, receiver, phone):
        client = _client(clients, receiver, "push")
        auth_req_id = client.start(
            login_hint=phone.user["username"], client_notification_token="t", requested_expiry=1
        )
        wait_for(lambda: receiver.requests, timeout=5)
        (body,) = _posts(receiver)
        assert body == {
            "auth_req_id": auth_req_id,
            "error": "expired_token",
            "error_description": body["error_description"],
        }

    def test_a_push_given_up_on_records_transaction_failed(
        self, clients, receiver, phone, notify_server
    ):
        receiver.default = (403, {})
        client = _client(clients, receiver, "push")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="t")
        phone.answer("approve")
        wait_for(lambda: _request(notify_server, auth_req_id).extra.get("delivery_error"))
        assert _request(notify_server, auth_req_id).extra["delivery_error"] == "transaction_failed"
        assert len(receiver.requests) == 1

    def test_a_user_disabled_before_minting_gets_a_denial(
        self, clients, receiver, phone, notify_server
    ):
        # The re-check runs where the tokens are minted, in push mode too.
        client = _client(clients, receiver, "push")
        auth_req_id = client.start(login_hint=phone.user["username"], client_notification_token="t")
        request = _request(notify_server, auth_req_id)
        notify_server.call(lambda s: s.users.update(phone.user["id"], {"active": False}))
        moved = notify_server.call(
            lambda s: s.requests.transition(
                request.id,
                Status.APPROVED,
                {"decided_at": utcnow(), "device_id": phone.device.device_id, "amr": AMR},
            )
        )
        assert moved is not None
        wait_for(lambda: receiver.requests)
        (body,) = _posts(receiver)
        assert body["error"] == "access_denied" and "access_token" not in body
        assert _request(notify_server, auth_req_id).status == Status.DENIED


async def test_a_restart_between_approval_and_delivery_still_delivers(tmp_path: Path):
    url, drop = _new_database(tmp_path)
    try:
        with Receiver.start() as receiver:
            receiver.default = (204, b"")
            await asyncio.to_thread(upgrade, url)
            # The first process approves (committing the delivery) and dies before delivering.
            services = await Services.start(_fast_outbox(url, "http://127.0.0.1:1"))
            features.install(services)
            user = await services.users.create({"username": "restart"})
            await services.clients.create(
                {
                    "client_id": "pos",
                    "grant_types": ["urn:openid:params:grant-type:ciba"],
                    "backchannel_token_delivery_mode": "push",
                    "backchannel_client_notification_endpoint": receiver.url + "/cb",
                }
            )
            from app.devices.models import Device

            async with services.db.session() as session:
                session.add(Device(id="dev-1", user_id=user.id, public_jwk={}, alg="ES256"))
                await session.commit()
            auth_req_id = new_auth_req_id()
            request, _ = await services.requests.create(
                NewRequest(
                    client_id="pos",
                    user_id=user.id,
                    mode="push",
                    scope="openid",
                    expires_in=120,
                    client_notification_token="t",
                    extra={"auth_req_id": auth_req_id},
                    auth_req_id=auth_req_id,
                )
            )
            values = {"decided_at": utcnow(), "device_id": "dev-1", "amr": AMR}
            assert await services.requests.transition(request.id, Status.APPROVED, values)
            await services.close()
            assert receiver.requests == []

            # The next process mints and delivers at start, exactly once.
            def started() -> None:
                with LiveServer.start(lambda issuer: _fast_outbox(url, issuer)):
                    wait_for(lambda: receiver.requests)
                    time.sleep(0.5)

            await asyncio.to_thread(started)
            (body,) = _posts(receiver)
            assert body["auth_req_id"] == auth_req_id and "id_token" in body
    finally:
        drop()
