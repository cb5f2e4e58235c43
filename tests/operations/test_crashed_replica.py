"""A process killed while a notification is in flight: another takes the delivery over within
seconds (a short lease, renewed while a delivery runs), and the repeat carries the same
``Backchannel-Delivery-Id`` so the client can drop it (the fault drill's finding 2)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_TOKEN, api_clients, make_settings
from tests.support.ciba import CibaClient, Phone
from tests.support.live import LiveServer
from tests.support.process import free_port, served_process, server_env
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

TAKEOVER_BOUND = 15.0  # the lease (10 s) plus the idle look (2 s), with room; it was 60 s


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.start() as r:
        r.default = (204, b"")
        yield r


def test_a_killed_process_delivery_is_taken_over_in_seconds_with_the_same_id(
    fresh_database_url, receiver, tmp_path
):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env()
    env.update(
        BACKCHANNEL_DATABASE_URL=fresh_database_url,
        BACKCHANNEL_ADMIN_TOKEN=ADMIN_TOKEN,
        BACKCHANNEL_ISSUER=url,
    )
    receiver.delay = 60  # the first POST hangs: the process dies while it is in flight
    with (tmp_path / "a.log").open("w") as log, served_process(env, port, log) as a:
        with api_clients(url) as (admin, http):
            client = CibaClient.register(
                admin,
                http,
                backchannel_token_delivery_mode="ping",
                backchannel_client_notification_endpoint=receiver.url + "/cb",
            )
            phone = Phone.enroll(admin, http, url, f"k{time.monotonic_ns()}")
            auth_req_id = client.start(
                login_hint=phone.user["username"], client_notification_token="n"
            )
            phone.answer("approve")
            wait_for(lambda: receiver.requests)
        receiver.delay = 0
        os.kill(a.pid, signal.SIGKILL)
        killed = time.monotonic()
        a.wait(timeout=10)

    with LiveServer.start(lambda issuer: make_settings(fresh_database_url, issuer=issuer)) as b:
        wait_for(lambda: len(receiver.requests) >= 2, timeout=2 * TAKEOVER_BOUND)
        takeover = receiver.requests[1].received_at - killed
        print(f"\ntaken over {takeover:.1f} s after the kill")
        assert takeover < TAKEOVER_BOUND
        first, again = receiver.requests[:2]
        assert first.body == again.body and b'"auth_req_id"' in first.body
        assert first.headers["backchannel-delivery-id"] == again.headers["backchannel-delivery-id"]
        assert len(first.headers["backchannel-delivery-id"]) >= 16
        time.sleep(1.0)
        assert len(receiver.requests) == 2  # delivered once more, not again and again
        with api_clients(b.url) as (_, http_b):
            client.http = http_b
            assert client.poll(auth_req_id).status_code == 200
