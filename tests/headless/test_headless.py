"""The headless flow over real WebSockets against a live server: the result arrives on the
socket the moment the phone decides; every malformed or out-of-order frame gets an error frame
and a clean close code; a dropped socket leaves the request redeemable at /token."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import _new_database, api_clients, make_settings
from tests.support.ciba import CibaClient, Phone, verify_id_token
from tests.support.live import LiveServer


def _ws(server) -> ClientConnection:
    return connect(server.url.replace("http://", "ws://") + "/headless", max_size=None)


def _recv(ws: ClientConnection, timeout: float = 5) -> dict:
    return dict(json.loads(ws.recv(timeout=timeout)))


def _closed_with(ws: ClientConnection, timeout: float = 5) -> int | None:
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=timeout)
    return ws.close_code


def _start(client: CibaClient, **params) -> dict:
    return {
        "type": "start",
        "client_id": client.client_id,
        "client_secret": client.secret,
        "scope": "openid",
        **params,
    }


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "hana")


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http)


def test_approval_arrives_on_the_socket_then_a_normal_close(client, phone, server):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana", binding_message="Sign in to TV")))
        pending = _recv(ws)
        assert pending["type"] == "pending" and "qr_uri" not in pending
        assert set(pending) == {"type", "auth_req_id", "expires_in", "interval"}
        assert phone.pending()[0]["binding_message"] == "Sign in to TV"
        decided = time.monotonic()
        phone.answer("approve")
        tokens = _recv(ws)
        latency = time.monotonic() - decided
        assert tokens["type"] == "tokens" and tokens["token_type"] == "Bearer"
        claims = verify_id_token(server.url, tokens["id_token"], client.client_id)
        assert claims["sub"] == phone.user["id"]
        assert claims["urn:openid:params:jwt:claim:auth_req_id"] == pending["auth_req_id"]
        assert _closed_with(ws) == 1000
        print(f"decision to tokens on the socket: {latency * 1000:.1f} ms (incl. the phone's call)")
    # Redeemed once: /token knows it is spent.
    assert client.poll(pending["auth_req_id"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("decision", "error"), [("deny", "access_denied")])
def test_a_denial_is_an_error_frame(client, phone, server, decision, error):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana")))
        _recv(ws)
        phone.answer(decision)
        assert _recv(ws) == {
            "type": "error",
            "error": error,
            "error_description": "the user denied the request",
        }
        assert _closed_with(ws) == 1000


def test_expiry_is_an_error_frame(client, phone, server):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana", requested_expiry=1)))
        assert _recv(ws)["expires_in"] == 1
        frame = _recv(ws, timeout=4)
        assert frame["type"] == "error" and frame["error"] == "expired_token"
        assert _closed_with(ws) == 1000


def test_cancel_ends_the_request(client, phone, server):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana")))
        auth_req_id = _recv(ws)["auth_req_id"]
        ws.send(json.dumps({"type": "cancel"}))
        assert _recv(ws) == {"type": "cancelled"}
        assert _closed_with(ws) == 1000
    assert phone.pending() == []
    assert client.poll(auth_req_id).json()["error"] == "access_denied"


def test_a_dropped_socket_leaves_the_request_redeemable_at_token(client, phone, server):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana")))
        auth_req_id = _recv(ws)["auth_req_id"]
    phone.answer("approve")
    response = client.poll(auth_req_id)
    assert response.status_code == 200, response.text
    assert "id_token" in response.json()


def test_a_push_client_may_redeem_a_dropped_headless_login_at_token(admin, http, phone, server):
    push = CibaClient.register(
        admin,
        http,
        backchannel_token_delivery_mode="push",
        backchannel_client_notification_endpoint=server.url + "/cb",
    )
    with _ws(server) as ws:
        ws.send(json.dumps(_start(push, login_hint="hana")))
        auth_req_id = _recv(ws)["auth_req_id"]
    phone.answer("approve")
    assert push.poll(auth_req_id).status_code == 200


def test_a_user_code_client_sends_the_code_in_start(admin, http, phone, server):
    coded = CibaClient.register(admin, http, backchannel_user_code_parameter=True)
    admin.patch(f"/admin/users/{phone.user['id']}", json={"user_code": "5150"})
    with _ws(server) as ws:
        ws.send(json.dumps(_start(coded, login_hint="hana", user_code="0000")))
        assert _recv(ws)["error"] == "invalid_user_code"
    with _ws(server) as ws:
        ws.send(json.dumps(_start(coded, login_hint="hana", user_code="5150")))
        assert _recv(ws)["type"] == "pending"
        phone.answer("approve")  # checked at the start: the phone does not ask again
        assert _recv(ws)["type"] == "tokens"


def test_bad_credentials_are_invalid_client(client, phone, server):
    for frame in (
        {**_start(client, login_hint="hana"), "client_secret": "wrong"},
        {**_start(client, login_hint="hana"), "client_id": "nobody"},
        {k: v for k, v in _start(client, login_hint="hana").items() if k != "client_secret"},
    ):
        with _ws(server) as ws:
            ws.send(json.dumps(frame))
            assert _recv(ws)["error"] == "invalid_client"
            assert _closed_with(ws) == 1008
    assert phone.pending() == []


def test_the_same_checks_as_bc_authorize(client, phone, server):
    for params, error in (
        ({"login_hint": "nobody"}, "unknown_user_id"),
        ({"login_hint": "hana", "scope": "profile"}, "invalid_request"),
        ({"login_hint": "hana", "binding_message": "x" * 101}, "invalid_binding_message"),
        ({"login_hint": "hana", "requested_expiry": "soon"}, "invalid_request"),
        ({"login_hint": "hana", "id_token_hint": "a.b.c"}, "invalid_request"),
    ):
        with _ws(server) as ws:
            ws.send(json.dumps(_start(client, **params)))
            assert _recv(ws)["error"] == error
            assert _closed_with(ws) == 1008


def test_a_user_without_an_authenticator_is_refused_at_once(admin, client, phone, server):
    assert admin.post("/admin/users", json={"username": "ida"}).status_code == 201
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="ida")))
        error = _recv(ws, timeout=2)  # at once, not when the request would have expired
        assert error["error"] == "access_denied"
        assert "no enrolled authenticator" in error["error_description"]
        assert _closed_with(ws) == 1008


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x01binary", 1003),
        ("x" * 9000, 1009),
        ("not json", 1008),
        ("[" * 5000, 1008),  # nests deeper than the JSON parser recurses
        (json.dumps({"type": "start", "client_id": "a\u0000b", "scope": "openid"}), 1008),
        (json.dumps({"type": "hello"}), 1008),
        (json.dumps({"type": "start"}), 1008),  # missing fields
        (json.dumps({"type": "cancel"}), 1008),  # cancel before start
        (json.dumps(["start"]), 1008),
        (json.dumps({"type": "cancel", "extra": 1}), 1008),
    ],
)
def test_malformed_or_out_of_order_frames_get_an_error_and_a_clean_close(server, frame, code):
    with _ws(server) as ws:
        ws.send(frame)
        assert _recv(ws)["error"] == "invalid_request"
        assert _closed_with(ws) == code


def test_a_second_start_is_refused_and_the_request_survives(client, phone, server):
    with _ws(server) as ws:
        ws.send(json.dumps(_start(client, login_hint="hana")))
        auth_req_id = _recv(ws)["auth_req_id"]
        ws.send(json.dumps(_start(client, login_hint="hana")))
        assert _recv(ws)["error"] == "invalid_request"
        assert _closed_with(ws) == 1008
    phone.answer("approve")
    assert client.poll(auth_req_id).status_code == 200


# --- a server with short timers: QR rotation, start timeout, heartbeats, socket cap ----------


@pytest.fixture(scope="module")
def fast(tmp_path_factory) -> Iterator[LiveServer]:
    url, drop = _new_database(tmp_path_factory.mktemp("headless"))

    def settings(issuer: str):
        return make_settings(
            url,
            issuer=issuer,
            qr_rotation_seconds=1,
            headless_start_timeout=1,
            headless_max_sockets_per_client=2,
            ws_ping_interval=0.5,
            ws_ping_timeout=0.5,
        )

    with LiveServer.start(settings) as server:
        yield server
    drop()


@pytest.fixture
def fast_clients(fast):
    with api_clients(fast.url) as (admin, http):
        client = CibaClient.register(admin, http)
        phone = Phone.enroll(admin, http, fast.url, f"q{time.monotonic_ns()}")
        yield client, phone


def test_an_open_login_shows_a_rotating_qr_and_a_scan_claims_it(fast, fast_clients):
    client, phone = fast_clients
    with _ws(fast) as ws:
        ws.send(json.dumps(_start(client)))
        pending = _recv(ws)
        first = pending["qr_uri"]
        assert first.startswith(fast.url + "/qr/")
        rotated = _recv(ws, timeout=3)
        assert rotated["type"] == "qr" and rotated["qr_uri"] != first

        time.sleep(2.2)  # the first code is now two periods old
        stale = phone.http.post(
            "/devices/me/scan", json={"qr_uri": first}, headers=phone.device.auth()
        )
        assert stale.status_code == 400 and "stale" in stale.json()["error_description"]

        current = _latest_qr(ws)
        scanned = phone.http.post(
            "/devices/me/scan", json={"qr_uri": current}, headers=phone.device.auth()
        )
        assert scanned.status_code == 200, scanned.text
        frames = [_recv(ws)]
        while frames[-1]["type"] == "qr":  # a tick may race the scan
            frames.append(_recv(ws))
        assert frames[-1] == {"type": "scanned"}
        phone.answer("approve")
        tokens = _recv(ws)
        assert tokens["type"] == "tokens"
        claims = verify_id_token(fast.url, tokens["id_token"], client.client_id)
        assert claims["sub"] == phone.user["id"]


def _latest_qr(ws: ClientConnection) -> str:
    """The newest code on the screen: skip the frames queued while the test slept."""
    latest = None
    while True:
        try:
            frame = _recv(ws, timeout=0.2)
        except TimeoutError:
            if latest:
                return latest
            continue
        assert frame["type"] == "qr"
        latest = frame["qr_uri"]


def test_a_socket_that_never_starts_is_closed(fast):
    with _ws(fast) as ws:
        assert _recv(ws, timeout=3)["error"] == "invalid_request"
        assert _closed_with(ws) == 1008


def test_a_client_may_hold_only_so_many_sockets(fast, fast_clients):
    client, phone = fast_clients
    with _ws(fast) as first, _ws(fast) as second, _ws(fast) as third:
        sockets = [first, second, third]
        for ws in sockets[:2]:
            ws.send(json.dumps(_start(client, login_hint=phone.user["username"])))
            assert _recv(ws)["type"] == "pending"
        third.send(json.dumps(_start(client, login_hint=phone.user["username"])))
        assert _recv(third)["error"] == "temporarily_unavailable"
        assert _closed_with(third) == 1013


def test_a_dead_peer_is_found_by_heartbeats(fast, fast_clients):
    """A raw socket that completes the handshake and then never answers a ping."""
    client, phone = fast_clients
    host, port = fast.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(
            (
                f"GET /headless HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert b"101" in raw.recv(4096).split(b"\r\n")[0]
        raw.sendall(_masked_text(json.dumps(_start(client, login_hint=phone.user["username"]))))
        started = time.monotonic()
        received = b""
        while chunk := raw.recv(4096):  # pings arrive; no pong goes back; then the server quits
            received += chunk
        took = time.monotonic() - started
    assert b"\x89" in received  # the server pinged, and got no pong
    assert b"keepalive ping timeout" in received  # so it closed (1011) instead of waiting on
    assert took < 4  # interval + timeout, not forever
    (request,) = phone.pending()  # the login itself survives, redeemable later
    assert request["client_name"] == "Call centre"


def _masked_text(text: str) -> bytes:
    """One client-to-server text frame (RFC 6455 §5.2: clients mask)."""
    payload, mask = text.encode(), os.urandom(4)
    assert len(payload) < 65536
    length = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return b"\x81" + length + mask + masked
