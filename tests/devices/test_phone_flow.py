"""The phone's side end to end: enroll, see requests live, approve or deny with a signed decision,
and every forged, replayed or misdirected call refused without changing anything."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.device import SimulatedDevice, enroll_new_device
from tests.support.requests import ciba_client, request_status, start_request


@pytest.fixture
def alice(admin):
    return admin.post(
        "/admin/users", json={"username": "alice", "email": "alice@example.com"}
    ).json()


@pytest.fixture
def client(admin):
    return ciba_client(admin)


def _ws_url(server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_enrolled_device_sees_the_request_live_and_approves_it(
    admin, http, server, alice, client, alg
):
    code = admin.post(f"/admin/users/{alice['id']}/enrollments").json()
    assert code["enrollment_uri"].endswith("#enrollment_code=" + code["enrollment_code"])
    device = SimulatedDevice(server.url, alg)
    enrolled = device.enroll(
        http, code["enrollment_code"], name="Alice's phone", platform="android"
    )
    assert enrolled["user_id"] == alice["id"] and enrolled["alg"] == alg

    with connect(_ws_url(server, f"/devices/me/stream?assertion={device.assertion()}")) as stream:
        first = json.loads(stream.recv(timeout=5))
        assert first == {"type": "requests", "requests": []}
        started = time.monotonic()
        request, _ = start_request(
            server, client["client_id"], alice["id"], binding_message="Tx 4F2 — £20"
        )
        frame = json.loads(stream.recv(timeout=2))
        latency = time.monotonic() - started
        assert frame["type"] == "request"
        shown = frame["request"]
        assert shown["id"] == request.id
        assert shown["client_name"] == "Call centre"
        assert shown["binding_message"] == "Tx 4F2 — £20"
        print(f"stream latency {latency * 1000:.1f} ms")

        listed = http.get("/devices/me/requests", headers=device.auth()).json()
        assert [r["id"] for r in listed] == [request.id]

        response = device.decide(http, request.id, "approve")
        assert response.status_code == 200, response.text
        assert response.json() == {"id": request.id, "status": "approved"}
        closed = json.loads(stream.recv(timeout=2))
        assert closed == {"type": "closed", "id": request.id, "status": "approved"}

    stored = server.call(lambda s: s.requests.get(request.id))
    assert stored.device_id == device.device_id and stored.amr == ["swk", "user"]
    assert stored.decision_jwt and stored.decided_at is not None  # the evidence is kept
    assert http.get("/devices/me/requests", headers=device.auth()).json() == []


def test_deny_is_recorded_and_a_second_decision_is_refused(admin, http, server, alice, client):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    request, _ = start_request(server, client["client_id"], alice["id"])
    assert device.decide(http, request.id, "deny").json()["status"] == "denied"
    again = device.decide(http, request.id, "approve")
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert request_status(server, request.id) == "denied"


def test_all_devices_of_the_user_are_told_and_the_others_see_it_closed(
    admin, http, server, alice, client
):
    phone, tablet = (enroll_new_device(admin, http, server.url, alice["id"]) for _ in range(2))
    with connect(_ws_url(server, "/devices/me/stream")) as stream:
        stream.send(json.dumps({"assertion": tablet.assertion()}))  # assertion in the first frame
        assert json.loads(stream.recv(timeout=5))["type"] == "requests"
        request, _ = start_request(server, client["client_id"], alice["id"])
        assert json.loads(stream.recv(timeout=2))["request"]["id"] == request.id
        assert phone.decide(http, request.id).status_code == 200
        assert json.loads(stream.recv(timeout=2)) == {
            "type": "closed",
            "id": request.id,
            "status": "approved",
        }


def test_enrollment_code_is_single_use_and_expires(admin, http, server, alice):
    code = admin.post(f"/admin/users/{alice['id']}/enrollments").json()["enrollment_code"]
    SimulatedDevice(server.url).enroll(http, code)
    again = http.post(
        "/devices",
        json={"enrollment_code": code, "public_jwk": SimulatedDevice(server.url).public_jwk},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert len(admin.get(f"/admin/users/{alice['id']}/devices").json()) == 1


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "not", "y": "valid"},
        "not-an-object",
    ],
)
def test_enrollment_refuses_unusable_keys_and_keeps_the_code(admin, http, server, alice, jwk):
    code = admin.post(f"/admin/users/{alice['id']}/enrollments").json()["enrollment_code"]
    response = http.post("/devices", json={"enrollment_code": code, "public_jwk": jwk})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    SimulatedDevice(server.url).enroll(http, code)  # the code was not burnt by the bad attempt


def test_a_private_key_is_refused_at_enrollment(admin, http, server, alice):
    code = admin.post(f"/admin/users/{alice['id']}/enrollments").json()["enrollment_code"]
    device = SimulatedDevice(server.url)
    response = http.post(
        "/devices", json={"enrollment_code": code, "public_jwk": {**device.public_jwk, "d": "AAAA"}}
    )
    assert response.status_code == 400


def _assert_refused(response, status: int = 401) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 60, "iat": int(time.time()) - 120},  # expired
        {"lifetime": 600},  # longer than five minutes
        {"aud": "https://elsewhere.example.com"},
        {"iss": "someone-else"},
        {"jti": None},
    ],
)
def test_bad_device_assertions_are_refused(admin, http, server, alice, overrides):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    _assert_refused(http.get("/devices/me/requests", headers=device.auth(**overrides)))


def test_replayed_and_foreign_key_assertions_are_refused(admin, http, server, alice):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    headers = device.auth()
    assert http.get("/devices/me/requests", headers=headers).status_code == 200
    _assert_refused(http.get("/devices/me/requests", headers=headers))  # the same jti again
    impostor = SimulatedDevice(server.url)
    impostor.device_id = device.device_id
    impostor.key.kid = device.device_id
    _assert_refused(http.get("/devices/me/requests", headers=impostor.auth()))
    _assert_refused(http.get("/devices/me/requests", headers={"Authorization": "Bearer not.a.jwt"}))
    _assert_refused(http.get("/devices/me/requests"))


def test_a_replayed_list_call_is_refused_and_notes_nothing_as_shown(
    admin, http, server, alice, client
):
    """The list's assertion jti is spent in the write that notes the requests as shown: a
    replay refuses that write whole, and the evidence says nothing was shown."""
    device = enroll_new_device(admin, http, server.url, alice["id"])
    replayed = device.auth()
    assert http.get("/devices/me/requests", headers=replayed).json() == []
    request, _ = start_request(server, client["client_id"], alice["id"])
    _assert_refused(http.get("/devices/me/requests", headers=replayed))
    assert _shown_at(server, request.id) is None
    listed = http.get("/devices/me/requests", headers=device.auth())
    assert [r["id"] for r in listed.json()] == [request.id]
    assert _shown_at(server, request.id) is not None


def _shown_at(server, request_id: str):
    return server.call(lambda s: s.requests.get(request_id)).shown_at


def test_bad_decisions_are_refused_and_change_nothing(admin, http, server, alice, client):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    bob = admin.post("/admin/users", json={"username": "bob"}).json()
    bobs_phone = enroll_new_device(admin, http, server.url, bob["id"])
    request, _ = start_request(server, client["client_id"], alice["id"])
    other, _ = start_request(server, client["client_id"], alice["id"])

    _assert_refused(bobs_phone.decide(http, request.id), 404)  # another user's request
    _assert_refused(device.decide(http, request.id, "maybe"), 400)
    for_other = {"decision_jwt": device.decision_jwt(other.id)}  # signed for another request
    path = f"/devices/me/requests/{request.id}/decision"
    _assert_refused(http.post(path, json=for_other, headers=device.auth()), 400)
    _assert_refused(
        device.decide(http, request.id, exp=int(time.time()) - 60, iat=int(time.time()) - 90), 400
    )
    forged = SimulatedDevice(server.url)
    forged.device_id = forged.key.kid = device.device_id
    body = {"decision_jwt": forged.decision_jwt(request.id)}
    _assert_refused(
        http.post(f"/devices/me/requests/{request.id}/decision", json=body, headers=device.auth()),
        400,
    )
    _assert_refused(
        http.post(f"/devices/me/requests/{request.id}/decision", json={}, headers=device.auth()),
        400,
    )

    decision = {"decision_jwt": device.decision_jwt(request.id, "deny")}
    assert http.post(path, json=decision, headers=device.auth()).status_code == 200
    replayed = http.post(path, json=decision, headers=device.auth())
    _assert_refused(replayed, 400)
    assert "used before" in replayed.json()["error_description"]
    assert request_status(server, request.id) == "denied"
    assert request_status(server, other.id) == "pending"


def test_a_device_assertion_spent_on_a_decision_cannot_be_replayed(
    admin, http, server, alice, client
):
    # The decision route spends its device assertion in the write that records the decision;
    # it is spent all the same.
    device = enroll_new_device(admin, http, server.url, alice["id"])
    first, _ = start_request(server, client["client_id"], alice["id"])
    second, _ = start_request(server, client["client_id"], alice["id"])
    headers = device.auth()
    body = {"decision_jwt": device.decision_jwt(first.id, "deny")}
    assert (
        http.post(
            f"/devices/me/requests/{first.id}/decision", json=body, headers=headers
        ).status_code
        == 200
    )
    again = {"decision_jwt": device.decision_jwt(second.id)}
    replayed = http.post(f"/devices/me/requests/{second.id}/decision", json=again, headers=headers)
    _assert_refused(replayed, 401)
    assert request_status(server, second.id) == "pending"
    _assert_refused(http.get("/devices/me/requests", headers=headers))  # nor anywhere else
    # The refused call changed nothing: with a fresh assertion the phone answers as usual.
    assert device.decide(http, second.id).json()["status"] == "approved"


def test_user_code_is_required_when_the_client_asked_for_it(admin, http, server, alice, client):
    admin.patch(f"/admin/users/{alice['id']}", json={"user_code": "7391"})
    device = enroll_new_device(admin, http, server.url, alice["id"])
    request, _ = start_request(server, client["client_id"], alice["id"], user_code_required=True)
    _assert_refused(device.decide(http, request.id), 400)
    _assert_refused(device.decide(http, request.id, user_code="0000"), 400)
    assert request_status(server, request.id) == "pending"
    assert device.decide(http, request.id, user_code="7391").json()["status"] == "approved"


def test_an_inactive_user_cannot_approve(admin, http, server, alice, client):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    request, _ = start_request(server, client["client_id"], alice["id"])
    admin.patch(f"/admin/users/{alice['id']}", json={"active": False})
    _assert_refused(device.decide(http, request.id), 403)
    assert request_status(server, request.id) == "pending"


def test_expired_requests_cannot_be_decided(admin, http, server, alice, client):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    request, _ = start_request(server, client["client_id"], alice["id"], expires_in=1)
    time.sleep(1.2)
    _assert_refused(device.decide(http, request.id), 409)
    assert server.call(lambda s: s.requests.expire_overdue()) >= 0
    assert request_status(server, request.id) == "expired"


def test_device_can_update_its_push_token_and_leave(admin, http, server, alice):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    patched = http.patch(
        "/devices/me", json={"push_token": "tok-2", "name": "New phone"}, headers=device.auth()
    )
    assert (
        patched.status_code == 200
        and patched.json()["push"] == "on"
        and patched.json()["name"] == "New phone"
    )
    assert (
        http.patch("/devices/me", json={"colour": "red"}, headers=device.auth()).status_code == 400
    )
    assert http.delete("/devices/me", headers=device.auth()).status_code == 204
    _assert_refused(http.get("/devices/me/requests", headers=device.auth()))
    assert admin.get(f"/admin/users/{alice['id']}/devices").json() == []


def test_admin_lists_and_removes_devices(admin, http, server, alice):
    device = enroll_new_device(admin, http, server.url, alice["id"])
    listed = admin.get(f"/admin/users/{alice['id']}/devices").json()
    assert [d["device_id"] for d in listed] == [device.device_id]
    assert admin.delete(f"/admin/devices/{device.device_id}").status_code == 204
    _assert_refused(http.get("/devices/me/requests", headers=device.auth()))
    assert admin.delete(f"/admin/devices/{device.device_id}").status_code == 404


def test_stream_refuses_a_bad_assertion_with_a_reason(server):
    with connect(_ws_url(server, "/devices/me/stream?assertion=nope")) as stream:
        frame = json.loads(stream.recv(timeout=5))
        assert frame["type"] == "error" and frame["error"] == "invalid_token"


def test_cli_enroll_prints_a_qr_and_a_usable_code(
    admin, http, server, alice, database_url, monkeypatch
):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.settings import get_settings

    monkeypatch.setenv("BACKCHANNEL_DATABASE_URL", database_url)
    monkeypatch.setenv("BACKCHANNEL_ISSUER", server.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "enroll", "alice"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    qr, _, printed = result.output.partition("{")
    assert "▀" in qr or "█" in qr  # the QR, drawn with block characters
    enrollment = json.loads("{" + printed)
    assert enrollment["enrollment_uri"].startswith(server.url + "/authenticator#enrollment_code=")
    SimulatedDevice(server.url).enroll(http, enrollment["enrollment_code"])
    assert len(admin.get(f"/admin/users/{alice['id']}/devices").json()) == 1


def test_a_quiet_stream_catches_up_on_a_request_whose_event_was_lost(
    admin, http, server, alice, client, monkeypatch
):
    from datetime import timedelta

    import app.devices.endpoints
    from app.decoupled.models import AuthRequest
    from app.decoupled.states import Status
    from app.storage.types import utcnow

    monkeypatch.setattr(app.devices.endpoints, "RECHECK_SECONDS", 0.3)
    device = enroll_new_device(admin, http, server.url, alice["id"])
    with connect(_ws_url(server, f"/devices/me/stream?assertion={device.assertion()}")) as stream:
        assert json.loads(stream.recv(timeout=5))["requests"] == []

        async def insert_silently(s):  # a row no event announces, as if the event were lost
            async with s.db.session() as session:
                session.add(
                    AuthRequest(
                        id="silent-1",
                        auth_req_id_hash="h-silent-1",
                        client_id=client["client_id"],
                        user_id=alice["id"],
                        status=Status.PENDING,
                        mode="poll",
                        scope="openid",
                        expires_at=utcnow() + timedelta(minutes=2),
                    )
                )
                await session.commit()

        server.call(insert_silently)
        frame = json.loads(stream.recv(timeout=3))
        assert frame["type"] == "request" and frame["request"]["id"] == "silent-1"


@pytest.mark.parametrize("first", [b"\x00binary", "not json", '["a list"]'])
def test_a_stream_whose_first_frame_is_not_an_assertion_is_refused(server, first):
    with connect(_ws_url(server, "/devices/me/stream")) as stream:
        stream.send(first)
        assert json.loads(stream.recv(timeout=5))["error"] == "invalid_token"
        with pytest.raises(ConnectionClosed) as closed:
            stream.recv(timeout=5)
        assert closed.value.rcvd.code == 1008
