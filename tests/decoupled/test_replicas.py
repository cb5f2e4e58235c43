"""Two replicas over one PostgreSQL: a decision taken on one wakes what waits on the other
(LISTEN/NOTIFY), in milliseconds, not at the end of a timeout."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from app.events import PostgresBus
from tests.conftest import PG_URL, _new_database, api_clients, make_settings
from tests.support.ciba import CibaClient, Phone, long_poll_while
from tests.support.live import LiveServer

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="replicas share PostgreSQL; on SQLite there is one process and one bus"
)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    url, drop = _new_database(tmp_path_factory.mktemp("replicas"))
    with (
        LiveServer.start(lambda issuer: make_settings(url, issuer=issuer)) as a,
        LiveServer.start(lambda issuer: make_settings(url, issuer=issuer)) as b,
    ):
        yield a, b
    drop()


@pytest.fixture
def setup(replicas):
    a, b = replicas
    with api_clients(a.url) as (admin, http_a), api_clients(b.url) as (_, http_b):
        client = CibaClient.register(admin, http_b)  # the client talks to replica B
        phone = Phone.enroll(admin, http_a, a.url, f"r{time.monotonic_ns()}")  # the phone to A
        yield a, b, client, phone


def test_both_replicas_use_the_postgres_bus(replicas):
    assert all(isinstance(r.services.bus, PostgresBus) for r in replicas)


def test_an_approval_on_one_replica_reaches_a_socket_on_the_other(setup):
    _, b, client, phone = setup
    url = b.url.replace("http://", "ws://") + "/headless"
    start = {
        "type": "start",
        "client_id": client.client_id,
        "client_secret": client.secret,
        "scope": "openid",
        "login_hint": phone.user["username"],
    }
    with connect(url) as ws:
        ws.send(json.dumps(start))
        assert json.loads(ws.recv(timeout=5))["type"] == "pending"
        decided = time.monotonic()
        phone.answer("approve")
        frame = json.loads(ws.recv(timeout=5))
        assert frame["type"] == "tokens"
        assert time.monotonic() - decided < 1.0


def test_a_long_poll_on_one_replica_hears_a_decision_on_the_other(setup):
    _, _, client, phone = setup
    auth_req_id = client.start(login_hint=phone.user["username"])
    response, latency = long_poll_while(client, auth_req_id, lambda: phone.answer("approve"))
    assert latency < 1.5  # not the 5 s the poll allowed
    assert response.status_code == 200 and "id_token" in response.json()
