"""Web Push to the web authenticator (RFC 8030, VAPID RFC 8292, aes128gcm RFC 8291) over the
server's real path, against a local push-service stand-in that checks the VAPID JWT and decrypts
the payload with the subscription's own keys."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import select

from app.outbox.models import OutboxMessage
from app.services import Services
from tests.conftest import _new_database, api_clients, make_settings
from tests.support.device import enroll_new_device
from tests.support.live import LiveServer
from tests.support.requests import ciba_client, start_request
from tests.support.waiting import wait_for
from tests.support.webpush import PushServiceStandIn, b64


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushServiceStandIn]:
    with PushServiceStandIn.start() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url, drop = _new_database(tmp_path_factory.mktemp("webpush"))
    with LiveServer.start(
        lambda issuer: make_settings(url, issuer=issuer, outbox_interval_seconds=0.2)
    ) as server:
        yield server
    drop()


def served_key(http) -> str:
    """The VAPID public key as the authenticator page serves it to the browser."""
    match = re.search(r'var VAPID_KEY = "([A-Za-z0-9_-]+)";', http.get("/authenticator").text)
    assert match, "the page carries the VAPID public key"
    return match.group(1)


@pytest.fixture
def setup(web_server, push_service):
    push_service.received.clear()
    push_service.responses.clear()
    with api_clients(web_server.url) as (admin, http):
        push_service.vapid_public_key = served_key(http)
        name = f"u{time.monotonic_ns()}"
        user = admin.post("/admin/users", json={"username": name, "name": "Robin Ring"}).json()
        yield web_server, admin, http, user, ciba_client(admin)


def subscribed(setup, push_service):
    server, admin, http, user, _ = setup
    device = enroll_new_device(admin, http, server.url, user["id"], platform="web")
    subscriber = push_service.subscribe()
    response = http.patch(
        "/devices/me", json={"web_push": subscriber.subscription()}, headers=device.auth()
    )
    assert response.status_code == 200, response.text
    assert response.json()["web_push"] == "on"
    return device, subscriber


def test_a_new_request_rings_each_subscribed_browser_with_a_generic_encrypted_push(
    setup, push_service
):
    server, admin, http, user, client = setup
    _, first = subscribed(setup, push_service)
    _, second = subscribed(setup, push_service)
    enroll_new_device(admin, http, server.url, user["id"])  # no subscription: not rung
    request, _ = start_request(
        server, client["client_id"], user["id"], binding_message="secret 42", expires_in=90
    )
    wait_for(lambda: len(push_service.received) == 2)
    assert [p.problem for p in push_service.received] == [None, None]
    assert {p.path for p in push_service.received} == {
        "/" + first.endpoint.split("/", 3)[3],
        "/" + second.endpoint.split("/", 3)[3],
    }
    push = push_service.received[0]
    # Decrypted with the subscription's own private key: the generic alert and the id, only.
    assert push.message == {
        "type": "auth_request",
        "request_id": request.id,
        "title": "Sign-in request",
        "body": "Open the app to review a sign-in request.",
    }
    assert push.claims and push.claims["aud"] == push_service.url
    assert push.claims["sub"] == "mailto:webpush@localhost"  # an http issuer is no contact
    assert 80 <= int(push.headers["ttl"]) <= 90  # the time left before the request expires
    assert push.headers["urgency"] == "high"
    assert "secret 42" not in str(push.message) and user["username"] not in str(push.message)

    async def rows(s: Services):
        async with s.db.session() as session:
            return list((await session.exec(select(OutboxMessage))).all())

    def mine():
        return sorted(
            (r.kind, r.status)
            for r in server.call(rows)
            if r.payload.get("request_id") == request.id
        )

    # The push service has the message before the outbox hears its answer: wait for that.
    wait_for(lambda: all(status != "pending" for _, status in mine()))
    assert mine() == [("webpush", "done")] * 2


@pytest.mark.parametrize("gone", [404, 410])
def test_a_gone_subscription_is_marked_dead_and_not_rung_again(setup, push_service, gone):
    server, _, http, user, client = setup
    device, _ = subscribed(setup, push_service)
    push_service.responses.append(gone)
    start_request(server, client["client_id"], user["id"])
    wait_for(lambda: http.get("/devices/me", headers=device.auth()).json()["web_push"] == "dead")
    start_request(server, client["client_id"], user["id"])
    time.sleep(0.6)
    assert len(push_service.received) == 1  # not retried, and the next request is not pushed
    # Subscribing again (the page does on its next visit) revives it.
    again = push_service.subscribe().subscription()
    revived = http.patch("/devices/me", json={"web_push": again}, headers=device.auth())
    assert revived.json()["web_push"] == "on"


@pytest.mark.parametrize("busy", [429, 503])
def test_a_busy_push_service_is_retried_until_it_takes_the_push(setup, push_service, busy):
    server, _, _, user, client = setup
    subscribed(setup, push_service)
    push_service.responses.extend([busy, busy])
    request, _ = start_request(server, client["client_id"], user["id"])
    wait_for(lambda: len(push_service.received) == 3, timeout=15)
    time.sleep(0.5)
    assert len(push_service.received) == 3  # taken on the third try, then no more
    assert all(p.message and p.message["request_id"] == request.id for p in push_service.received)


def test_the_device_view_names_its_account_and_push_state(setup):
    server, admin, http, user, _ = setup
    device = enroll_new_device(admin, http, server.url, user["id"], platform="web")
    me = http.get("/devices/me", headers=device.auth())
    assert me.status_code == 200
    assert me.json()["user"] == {"username": user["username"], "name": "Robin Ring"}
    assert me.json()["web_push"] == "off" and me.json()["device_id"] == device.device_id
    assert http.get("/devices/me").status_code == 401


@pytest.mark.parametrize(
    ("web_push", "says"),
    [
        ({"endpoint": "https://push.example/x"}, "web_push.keys"),
        ({"endpoint": "https://push.example/x", "keys": {"p256dh": "AAAA", "auth": "x"}}, "P-256"),
        ("not an object", "web_push"),
        ({"endpoint": "http://push.example/x", "keys": "KEYS"}, "https"),
        ({"endpoint": "ftp://push.example/x", "keys": "KEYS"}, "absolute https URL"),
    ],
)
def test_a_bad_subscription_is_refused_with_a_clear_error(setup, push_service, web_push, says):
    server, admin, http, user, _ = setup
    device = enroll_new_device(admin, http, server.url, user["id"], platform="web")
    if isinstance(web_push, dict) and web_push.get("keys") == "KEYS":
        web_push["keys"] = push_service.subscribe().subscription()["keys"]
    response = http.patch("/devices/me", json={"web_push": web_push}, headers=device.auth())
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert says in response.json()["error_description"]


def test_unsubscribing_stops_the_ringing(setup, push_service):
    server, _, http, user, client = setup
    device, _ = subscribed(setup, push_service)
    off = http.patch("/devices/me", json={"web_push": None}, headers=device.auth())
    assert off.json()["web_push"] == "off"
    start_request(server, client["client_id"], user["id"])
    time.sleep(0.6)
    assert push_service.received == []


async def test_the_vapid_key_is_made_once_and_a_configured_one_wins(tmp_path):
    url, drop = _new_database(tmp_path)
    try:
        from app.storage.migrations import upgrade

        upgrade(url)
        keys = []
        for _ in range(2):  # a restart (or a second replica) signs with the same key
            services = await Services.start(make_settings(url))
            keys.append(services.vapid.public_key)
            await services.close()
        assert keys[0] == keys[1] and len(keys[0]) == 87  # a 65-byte point, base64url
        mine = ec.generate_private_key(ec.SECP256R1())
        pem = mine.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        services = await Services.start(make_settings(url, web_push_vapid_private_key=pem))
        point = mine.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        assert services.vapid.public_key == b64(point)
        await services.close()
        p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(ValueError, match="must be a P-256 private key"):
            await Services.start(make_settings(url, web_push_vapid_private_key=p384.decode()))
    finally:
        drop()


def test_the_authenticator_is_installable(web_server):
    """A web app manifest, its icon and the service worker, each allowed by the page's CSP."""
    with api_clients(web_server.url) as (_, http):
        page = http.get("/authenticator")
        assert '<link rel="manifest" href="/authenticator.webmanifest">' in page.text
        csp = page.headers["content-security-policy"]
        assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp
        manifest = http.get("/authenticator.webmanifest")
        assert manifest.headers["content-type"] == "application/manifest+json"
        body = manifest.json()
        assert body["start_url"] == "/authenticator" and body["display"] == "standalone"
        icon = http.get(body["icons"][0]["src"])
        assert icon.headers["content-type"] == "image/svg+xml" and b"<svg" in icon.content
        worker = http.get("/authenticator-worker.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["cache-control"] == "no-cache"
        assert 'addEventListener("push"' in worker.text
        # Other pages keep the strict policy.
        assert "worker-src" not in http.get("/").headers["content-security-policy"]
