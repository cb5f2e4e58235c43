"""PostgreSQL stopped for a few seconds (a relay the test cuts): every endpoint answers 503
``temporarily_unavailable`` with ``Retry-After`` on a connection that stays usable, a headless
socket gets an error frame and a 1013 close, the log holds one warning rather than a traceback
per request, and once the database is back the approved login is redeemed (the fault drill's
finding 3)."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url
from websockets.sync.client import connect

from tests.conftest import PG_URL, _new_database, api_clients, make_settings
from tests.support.ciba import CIBA, CibaClient, Phone
from tests.support.live import LiveServer
from tests.support.relay import Relay
from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="a database server to stop: PostgreSQL only")


@pytest.fixture
def relayed(tmp_path) -> Iterator[tuple[LiveServer, Relay]]:
    url, drop = _new_database(tmp_path)
    parsed = make_url(url)
    with Relay.start((parsed.host or "127.0.0.1", parsed.port or 5432)) as relay:
        through = parsed.set(port=relay.port).render_as_string(hide_password=False)
        with LiveServer.start(lambda issuer: make_settings(through, issuer=issuer)) as server:
            yield server, relay
    drop()


class KeptAlive:
    """One HTTP/1.1 connection, used request after request: a reset shows as an error here
    (http.client re-opens only after a ``Connection: close`` it was told about)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        self.conn.connect()
        self.sock = self.conn.sock

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict, dict]:
        self.conn.request(method, path, **kwargs)
        response = self.conn.getresponse()
        body = response.read()
        assert self.conn.sock is self.sock, "the server closed the kept-alive connection"
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(body) if body else {}


def test_a_database_outage_answers_503_keeps_connections_and_loses_no_login(relayed, caplog):
    server, relay = relayed
    with api_clients(server.url) as (admin, http):
        client = CibaClient.register(admin, http)
        phone = Phone.enroll(admin, http, server.url, f"o{time.monotonic_ns()}")
        approved = client.start(login_hint=phone.user["username"])
        phone.answer("approve")

    basic = base64.b64encode(f"{client.client_id}:{client.secret}".encode()).decode()
    form = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    calls = [
        ("POST", "/bc-authorize", {"body": "scope=openid&login_hint=x", "headers": form}),
        ("POST", "/token", {"body": f"grant_type={CIBA}&auth_req_id={approved}", "headers": form}),
        ("GET", "/devices/me/requests", {"headers": phone.device.auth()}),
    ]
    kept = KeptAlive(server.url)
    caplog.clear()
    caplog.set_level(logging.INFO)
    relay.cut()
    answers = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        for method, path, kwargs in calls:
            status, headers, body = kept.request(method, path, **kwargs)
            answers.append((path, status, body.get("error"), headers.get("retry-after")))
    assert answers and all(a[1:] == (503, "temporarily_unavailable", a[3]) for a in answers), {
        a for a in answers if a[1] != 503
    }
    assert all(a[3] and int(a[3]) > 0 for a in answers)
    status, _, _ = kept.request("GET", "/healthz")
    assert status == 503
    status, _, ready = kept.request("GET", "/readyz")
    assert (status, ready["database"]) == (503, "unreachable")

    with connect(server.url.replace("http://", "ws://") + "/headless") as ws:
        ws.send(
            json.dumps(
                {
                    "type": "start",
                    "client_id": client.client_id,
                    "client_secret": client.secret,
                    "scope": "openid",
                }
            )
        )
        frame = json.loads(ws.recv(timeout=15))
        assert (frame["type"], frame["error"]) == ("error", "temporarily_unavailable")
        with pytest.raises(Exception):  # noqa: B017 - the close, whatever the library calls it
            ws.recv(timeout=5)
        assert ws.close_code in (1011, 1013)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    outage = [r for r in caplog.records if r.name == "backchannel.database"]
    assert len(outage) == 1, [r.getMessage() for r in outage]

    relay.restore()
    restored = time.monotonic()
    kept = KeptAlive(server.url)  # the old one idled past the keep-alive timeout meanwhile
    wait_for(lambda: kept.request("GET", "/readyz")[0] == 200, timeout=20)
    status, _, tokens = kept.request(*calls[1][:2], **calls[1][2])
    recovered = time.monotonic() - restored
    print(
        f"\n{len(answers)} requests answered 503 during the outage; "
        f"recovered {recovered:.2f} s after the database came back"
    )
    assert status == 200 and "id_token" in tokens  # the approved login was not lost
