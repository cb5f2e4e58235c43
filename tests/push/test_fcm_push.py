"""Push to phones over firebase-admin's real request path, against a local FCM stand-in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from app import features
from app.outbox.models import OutboxMessage
from app.services import Services
from app.storage.migrations import upgrade
from tests.conftest import _new_database, api_clients, make_settings
from tests.support.device import enroll_new_device
from tests.support.fcm import ACCESS_TOKEN, UNAVAILABLE, UNREGISTERED, FcmStandIn
from tests.support.live import LiveServer
from tests.support.requests import ciba_client, start_request
from tests.support.waiting import wait_for
from tests.support.webpush import Subscriber


@pytest.fixture(scope="module")
def fcm() -> Iterator[FcmStandIn]:
    with FcmStandIn.start() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def push_settings(fcm: FcmStandIn, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fcm")
    url, drop = _new_database(folder)
    account = fcm.service_account(folder)

    def make(issuer: str):
        return make_settings(
            url,
            issuer=issuer,
            fcm_credentials_file=str(account),
            fcm_endpoint=fcm.url,
            outbox_interval_seconds=0.2,
        )

    yield url, make
    drop()


@pytest.fixture(scope="module")
def push_server(push_settings) -> Iterator[LiveServer]:
    _, make = push_settings
    with LiveServer.start(make) as server:
        yield server


@pytest.fixture
def setup(push_server, fcm):
    fcm.sent.clear()
    fcm.send_headers.clear()
    fcm.responses.clear()
    with api_clients(push_server.url) as (admin, http):
        user = admin.post("/admin/users", json={"username": f"u{time.monotonic_ns()}"}).json()
        client = ciba_client(admin)
        yield push_server, admin, http, user, client


def test_a_new_request_pushes_a_generic_high_priority_message_to_each_device(setup, fcm):
    server, admin, http, user, client = setup
    phone = enroll_new_device(
        admin, http, server.url, user["id"], push_token="token-phone", platform="android"
    )
    enroll_new_device(
        admin, http, server.url, user["id"], push_token="token-tablet", platform="ios"
    )
    enroll_new_device(admin, http, server.url, user["id"])  # no push token: relies on its stream
    request, _ = start_request(
        server, client["client_id"], user["id"], binding_message="secret 42", expires_in=90
    )
    wait_for(lambda: len(fcm.sent) == 2)

    assert fcm.send_headers[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    messages = {m["message"]["token"]: m["message"] for m in fcm.sent}
    assert set(messages) == {"token-phone", "token-tablet"}
    message = messages["token-phone"]
    assert message["data"] == {"type": "auth_request", "request_id": request.id}
    assert message["notification"] == {
        "title": "Sign-in request",
        "body": "Open the app to review a sign-in request.",
    }
    assert message["android"]["priority"] == "high"
    ttl = float(message["android"]["ttl"].rstrip("s"))
    assert 80 <= ttl <= 90  # time left before the request expires
    assert message["apns"]["headers"]["apns-priority"] == "10"
    assert int(message["apns"]["headers"]["apns-expiration"]) - time.time() == pytest.approx(
        90, abs=10
    )
    # No personal data leaves in the push: not the binding message, not the client, not the user.
    assert "secret 42" not in str(fcm.sent) and user["username"] not in str(fcm.sent)
    assert phone.device_id


def test_an_unregistered_token_is_marked_dead_and_not_retried(setup, fcm):
    server, admin, http, user, client = setup
    enroll_new_device(admin, http, server.url, user["id"], push_token="stale-token")
    fcm.responses.append(UNREGISTERED)
    start_request(server, client["client_id"], user["id"])
    wait_for(lambda: len(fcm.sent) == 1)
    wait_for(lambda: admin.get(f"/admin/users/{user['id']}/devices").json()[0]["push"] == "dead")
    start_request(server, client["client_id"], user["id"])  # a dead token gets nothing more
    time.sleep(0.6)
    assert len(fcm.sent) == 1


def test_unavailable_is_retried_with_backoff_until_it_succeeds(setup, fcm):
    server, admin, http, user, client = setup
    enroll_new_device(admin, http, server.url, user["id"], push_token="flaky")
    fcm.responses.extend([UNAVAILABLE, UNAVAILABLE])
    started = time.monotonic()
    request, _ = start_request(server, client["client_id"], user["id"])
    wait_for(lambda: len(fcm.sent) == 3, timeout=15)
    assert time.monotonic() - started > 0.5  # it waited between attempts
    time.sleep(0.5)
    assert len(fcm.sent) == 3  # delivered once, then no more

    async def rows(s: Services):
        async with s.db.session() as session:
            return list((await session.exec(select(OutboxMessage))).all())

    mine = [r for r in server.call(rows) if r.payload.get("request_id") == request.id]
    assert [(r.status, r.attempts) for r in mine] == [("done", 3)]
    assert mine[0].last_error is None


async def test_a_restart_between_commit_and_delivery_loses_nothing(fcm, tmp_path: Path):
    url, drop = _new_database(tmp_path)
    account = fcm.service_account(tmp_path)
    try:

        def settings(issuer: str):
            return make_settings(
                url, issuer=issuer, fcm_credentials_file=str(account), fcm_endpoint=fcm.url
            )

        await asyncio.to_thread(upgrade, url)
        # The first process commits a request (and its push) and dies before delivering.
        services = await Services.start(settings("http://127.0.0.1:1"))
        features.install(services)
        user = await services.users.create({"username": "restart"})
        await services.clients.create(
            {
                "client_id": "cc",
                "grant_types": ["urn:openid:params:grant-type:ciba"],
                "backchannel_token_delivery_mode": "poll",
            }
        )
        from app.devices.models import Device

        async with services.db.session() as session:
            session.add(
                Device(
                    id="dev-1", user_id=user.id, public_jwk={}, alg="ES256", push_token="survivor"
                )
            )
            await session.commit()
        from app.decoupled.service import NewRequest

        request, _ = await services.requests.create(
            NewRequest(client_id="cc", user_id=user.id, mode="poll", scope="openid", expires_in=120)
        )
        await services.close()
        fcm.sent.clear()
        assert fcm.sent == []

        # The next process delivers it at start, exactly once.
        def started() -> int:
            with LiveServer.start(settings):
                wait_for(lambda: len(fcm.sent) >= 1)
                time.sleep(0.3)
            return len(fcm.sent)

        assert await asyncio.to_thread(started) == 1
        assert fcm.sent[0]["message"]["data"]["request_id"] == request.id
    finally:
        drop()


def test_one_request_rings_every_channel_of_every_device(setup, fcm):
    """FCM and Web Push both configured: the new request's one write stages a message per
    device and channel that reaches it (one devices query tells both channels)."""
    server, admin, http, user, client = setup
    phone = enroll_new_device(admin, http, server.url, user["id"], push_token="token-both")
    browser = enroll_new_device(admin, http, server.url, user["id"], platform="web")
    subscription = Subscriber("https://push.example/x").subscription()
    answer = http.patch("/devices/me", json={"web_push": subscription}, headers=browser.auth())
    assert answer.status_code == 200, answer.text
    request, _ = start_request(server, client["client_id"], user["id"], expires_in=90)

    async def staged(services: Services) -> set[tuple[str, str]]:
        async with services.db.session() as session:
            rows = (await session.exec(select(OutboxMessage))).all()
        return {
            (m.kind, m.payload["device_id"])
            for m in rows
            if m.payload.get("request_id") == request.id
        }

    assert server.call(staged) == {("fcm", phone.device_id), ("webpush", browser.device_id)}
