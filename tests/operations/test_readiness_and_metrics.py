"""/readyz for load balancers (database, migrations, event listener) beside /healthz for
liveness, and /metrics in Prometheus format behind the admin token."""

from __future__ import annotations

import json
import re
import time

from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from app.storage.db import sync_url
from tests.conftest import api_clients, make_settings
from tests.support.ciba import CibaClient, Phone
from tests.support.live import LiveServer
from tests.support.waiting import wait_for


def _sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when absent."""
    for line in exposition.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_when_the_database_answers_at_head_and_the_listener_is_connected(http):
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "event_listener": "ok",
    }


def test_not_ready_while_the_schema_is_behind_the_code_but_still_alive(fresh_database_url):
    with LiveServer.start(lambda issuer: make_settings(fresh_database_url, issuer=issuer)) as s:
        engine = create_engine(sync_url(fresh_database_url))
        with engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            with api_clients(s.url) as (_, http):
                ready = http.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["migrations"] == "behind"
                assert http.get("/healthz").status_code == 200  # alive: do not restart it
                # A newer replica migrated past this code (a rolling upgrade): still ready.
                with engine.begin() as conn:
                    conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
                ready = http.get("/readyz")
                assert (ready.status_code, ready.json()["migrations"]) == (200, "ahead")
        finally:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
            engine.dispose()


def test_open_device_streams_are_counted(server, admin, http):
    phone = Phone.enroll(admin, http, server.url, f"s{time.monotonic_ns()}")

    def streams() -> float:
        return _sample(admin.get("/metrics").text, "backchannel_open_sockets", kind="device_stream")

    before = streams()
    url = server.url.replace("http://", "ws://") + "/devices/me/stream"
    with connect(f"{url}?assertion={phone.device.assertion()}") as stream:
        assert json.loads(stream.recv(timeout=5))["type"] == "requests"
        assert streams() == before + 1
    wait_for(lambda: streams() == before)


def test_metrics_need_the_admin_token(http):
    assert http.get("/metrics").status_code == 401


def test_metrics_count_requests_by_route_logins_by_mode_and_refusals(server, admin, http):
    before = admin.get("/metrics").text
    client = CibaClient.register(admin, http)
    phone = Phone.enroll(admin, http, server.url, f"m{time.monotonic_ns()}")
    auth_req_id = client.start(login_hint=phone.user["username"])
    phone.answer("approve")
    assert client.poll(auth_req_id).status_code == 200
    refused = [client.authorize(login_hint=phone.user["username"]) for _ in range(6)]
    assert refused[-1].status_code == 429
    http.get("/no/such/path-3f9a")

    response = admin.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    ok = {"route": "/bc-authorize", "method": "POST", "status": "200"}
    assert grew("backchannel_http_requests_total", **ok) >= 1
    assert grew("backchannel_http_requests_total", route="/bc-authorize", status="429") >= 1
    assert grew("backchannel_http_request_duration_seconds_count", route="/token") >= 1
    assert grew("backchannel_logins_total", mode="poll", event="started") >= 1
    assert grew("backchannel_logins_total", mode="poll", event="approved") == 1
    assert grew("backchannel_decision_to_client_seconds_count", mode="poll") == 1
    assert grew("backchannel_rate_limit_refusals_total", route="/bc-authorize") >= 1
    # Unknown paths share one label: scanners cannot grow the label sets.
    assert grew("backchannel_http_requests_total", route="unmatched", status="404") == 1
    assert "path-3f9a" not in after
    assert "backchannel_outbox_rows" in after and "backchannel_open_sockets" in after
