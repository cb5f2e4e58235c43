"""Evidence for disputes: every decision leaves a row, written in the decision's own write, that
shows what the phone showed and the device-signed decision (verifiable with the stored device
key), outlives the request row, is purged after the retention period, and has a CLI twin."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import create_engine, text

from app.evidence import service as evidence
from app.storage.db import sync_url
from app.storage.types import utcnow
from tests.conftest import _new_database, api_clients, make_settings
from tests.support.ciba import CibaClient, Phone
from tests.support.live import LiveServer
from tests.support.payments import payment, shown_hash
from tests.support.process import BIN, server_env
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "ivy")


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http, client_name="Corner Shop till")


def _sql(database_url: str, statement: str, **params: str) -> None:
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def _pay(client, phone) -> tuple[str, str, dict]:
    details = [payment()]
    auth_req_id = client.start(
        login_hint="ivy", binding_message="till 4", authorization_details=json.dumps(details)
    )
    shown = phone.answer("approve", authorization_details_hash=shown_hash(details))
    return auth_req_id, str(shown["id"]), shown


def test_an_approved_payment_leaves_verifiable_evidence_that_outlives_the_request(
    admin, client, phone, server, database_url
):
    auth_req_id, request_id, on_phone = _pay(client, phone)
    assert client.poll(auth_req_id).status_code == 200
    shown = admin.get(f"/admin/requests/{request_id}")
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    body = shown.json()
    assert body["outcome"] == "approved" and body["status"] == "consumed"
    assert body["shown"]["binding_message"] == "till 4"
    assert body["shown"]["scope"] == "openid"
    assert body["shown"]["authorization_details"] == [payment()]
    assert body["shown"]["authorization_details_text"] == on_phone["authorization_details_text"]
    assert body["shown"]["authorization_details_text"][0].startswith("Pay 42.10 EUR to Corner")
    timeline = body["timeline"]
    assert timeline["created"] <= timeline["shown"] <= timeline["decided"] <= timeline["redeemed"]
    # A polling client has its tokens in the answer that redeems them.
    assert timeline["delivered"] == timeline["redeemed"]
    key = jwt.PyJWK(body["device"]["public_jwk"])
    signed = jwt.decode(
        body["decision_jwt"], key, algorithms=[key.algorithm_name], options={"verify_aud": False,
        "verify_exp": False},
    )  # fmt: skip
    assert signed["request_id"] == request_id and signed["decision"] == "approve"
    assert signed["authorization_details_hash"] == shown_hash([payment()])
    assert signed["iss"] == body["device"]["device_id"]

    # The hot row goes (as the purge of finished requests would take it); the evidence stays.
    _sql(database_url, "DELETE FROM auth_requests WHERE id = :id", id=request_id)
    later = admin.get(f"/admin/requests/{request_id}").json()
    assert later["status"] is None  # the hot row is gone…
    assert later["timeline"] == timeline  # …and the whole timeline stays
    assert later["decision_jwt"] == body["decision_jwt"]


def test_shown_is_the_first_time_a_device_was_handed_the_request(admin, client, phone, http):
    client.start(login_hint="ivy", binding_message="look twice")
    (first,) = phone.pending()
    between = utcnow().isoformat()
    (again,) = phone.pending()  # handed over again: the evidence keeps the first time
    assert again["id"] == first["id"]
    assert phone.device.decide(http, first["id"], "approve").status_code == 200
    timeline = admin.get(f"/admin/requests/{first['id']}").json()["timeline"]
    assert timeline["created"] <= timeline["shown"] <= between <= timeline["decided"]


def test_a_request_never_handed_to_a_device_has_no_shown_entry(admin, client, phone, http):
    auth_req_id = client.start(login_hint="ivy", binding_message="blind")
    request_id = auth_req_id.split(".")[0]  # the request id leads the auth_req_id
    assert phone.device.decide(http, request_id, "approve").status_code == 200
    timeline = admin.get(f"/admin/requests/{request_id}").json()["timeline"]
    assert timeline["shown"] is None and timeline["decided"] is not None
    assert timeline["redeemed"] is None and timeline["delivered"] is None


def test_a_ping_client_is_delivered_its_notification_before_it_redeems(admin, http, phone):
    with Receiver.start() as receiver:
        receiver.default = (204, b"")
        client = CibaClient.register(
            admin,
            http,
            backchannel_token_delivery_mode="ping",
            backchannel_client_notification_endpoint=receiver.url + "/cb",
        )
        auth_req_id = client.start(login_hint="ivy", client_notification_token="n-1")
        shown = phone.answer("approve")
        wait_for(lambda: receiver.requests)
        url = f"/admin/requests/{shown['id']}"
        wait_for(lambda: admin.get(url).json()["timeline"]["delivered"])
        told = admin.get(url).json()["timeline"]
        assert told["redeemed"] is None and told["decided"] <= told["delivered"]
        assert client.poll(auth_req_id).status_code == 200
        timeline = admin.get(url).json()["timeline"]
        assert timeline["delivered"] == told["delivered"] <= timeline["redeemed"]


def test_a_denial_is_kept_and_only_the_first_decision_counts(admin, client, phone, http):
    client.start(login_hint="ivy", binding_message="deny me")
    (pending,) = phone.pending()
    assert phone.device.decide(http, pending["id"], "deny").status_code == 200
    late = phone.device.decide(http, pending["id"], "approve")
    assert late.status_code == 409
    body = admin.get(f"/admin/requests/{pending['id']}").json()
    assert body["outcome"] == "denied"
    assert (
        jwt.decode(body["decision_jwt"], options={"verify_signature": False})["decision"] == "deny"
    )


def test_only_decided_requests_have_evidence_and_only_admins_see_it(admin, http, client, phone):
    client.start(login_hint="ivy")
    (pending,) = phone.pending()
    missing = admin.get(f"/admin/requests/{pending['id']}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert http.get(f"/admin/requests/{pending['id']}").status_code == 401


def test_evidence_past_its_retention_is_purged(admin, client, phone, server):
    _, request_id, _ = _pay(client, phone)
    retain_until = admin.get(f"/admin/requests/{request_id}").json()["retain_until"]
    kept = utcnow() + timedelta(days=399)
    assert retain_until > kept.isoformat()  # the default: 400 days
    assert server.call(lambda services: evidence.purge_expired(services.db.sql, kept)) == 0
    assert admin.get(f"/admin/requests/{request_id}").status_code == 200
    gone = utcnow() + timedelta(days=401)
    assert server.call(lambda services: evidence.purge_expired(services.db.sql, gone)) == 1
    assert admin.get(f"/admin/requests/{request_id}").status_code == 404


def test_the_cli_twin_shows_the_same_evidence(admin, client, phone, database_url, tmp_path):
    _, request_id, _ = _pay(client, phone)
    env = server_env()
    env["BACKCHANNEL_DATABASE_URL"] = database_url
    run = subprocess.run(
        [str(BIN), "requests", "show", request_id],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == admin.get(f"/admin/requests/{request_id}").json()
    unknown = subprocess.run(
        [str(BIN), "requests", "show", "nope"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1 and "not_found" in unknown.stderr


def test_the_retention_is_the_operators_to_set(tmp_path):
    url, drop = _new_database(tmp_path)
    settings = lambda issuer: make_settings(url, issuer=issuer, evidence_retention_days=7)  # noqa: E731
    try:
        with LiveServer.start(settings) as server, api_clients(server.url) as (admin, http):
            phone = Phone.enroll(admin, http, server.url, "ivy")
            client = CibaClient.register(admin, http, client_name="Corner Shop till")
            _, request_id, _ = _pay(client, phone)
            retain_until = admin.get(f"/admin/requests/{request_id}").json()["retain_until"]
            assert retain_until < (utcnow() + timedelta(days=7, minutes=1)).isoformat()
            assert retain_until > (utcnow() + timedelta(days=6, hours=23)).isoformat()
            later = utcnow() + timedelta(days=8)
            assert server.call(lambda s: evidence.purge_expired(s.db.sql, later)) == 1
    finally:
        drop()
