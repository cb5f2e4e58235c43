"""Single-use JWT ids and revoked access tokens are remembered until ``exp`` plus the clock-skew
leeway, the whole time a check would still accept the JWT — even when the purge job runs in
between (issue 16, finding 1)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import _new_database, api_clients, make_settings
from tests.support.clients import JWT_BEARER, ClientKey, register, register_key_client
from tests.support.device import enroll_new_device
from tests.support.live import LiveServer

CC = {"grant_type": "client_credentials"}
PURGE_EVERY = 0.2


@pytest.fixture(scope="module")
def purging_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A server whose purge job runs five times a second, and whose access tokens live 1 s."""
    url, drop = _new_database(tmp_path_factory.mktemp("purge"))
    settings = lambda issuer: make_settings(  # noqa: E731
        url, issuer=issuer, purge_interval_seconds=PURGE_EVERY, access_token_lifetime=1
    )
    with LiveServer.start(settings) as server:
        yield server
    drop()


@pytest.fixture
def clients(purging_server):
    with api_clients(purging_server.url) as pair:
        yield pair


def _let_the_purge_run() -> None:
    time.sleep(PURGE_EVERY * 5)


def test_an_expired_device_assertion_within_the_leeway_is_not_accepted_twice(
    purging_server, clients
):
    admin, http = clients
    user = admin.post("/admin/users", json={"username": "ada"}).json()
    device = enroll_new_device(admin, http, purging_server.url, user["id"])
    now = int(time.time())
    # Past its exp, but inside the 30 s clock-skew leeway: accepted once.
    headers = device.auth(iat=now - 60, exp=now - 2)
    assert http.get("/devices/me/requests", headers=headers).status_code == 200
    _let_the_purge_run()
    replay = http.get("/devices/me/requests", headers=headers)
    assert replay.status_code == 401, replay.text
    assert "used before" in replay.json()["error_description"]


def test_an_expired_client_assertion_within_the_leeway_is_not_accepted_twice(
    purging_server, clients
):
    admin, http = clients
    key = ClientKey()
    client = register_key_client(admin, jwks=key.jwks)
    now = int(time.time())
    assertion = key.assertion(client["client_id"], purging_server.url, iat=now - 60, exp=now - 2)
    form = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    assert http.post("/token", data=form).status_code == 200
    _let_the_purge_run()
    replay = http.post("/token", data=form)
    assert replay.status_code == 401, replay.text
    assert "used before" in replay.json()["error_description"]


def test_a_revoked_access_token_stays_inactive_through_its_leeway(purging_server, clients):
    admin, http = clients
    client = register(admin, grant_types=["client_credentials"])
    auth = (client["client_id"], client["client_secret"])
    token = http.post("/token", data=CC, auth=auth).json()["access_token"]
    assert http.post("/revoke", data={"token": token}, auth=auth).status_code == 200
    time.sleep(1.5)  # the token is past exp (1 s) but within the leeway
    _let_the_purge_run()
    introspected = http.post("/introspect", data={"token": token}, auth=auth)
    assert introspected.status_code == 200, introspected.text
    assert introspected.json() == {"active": False}
