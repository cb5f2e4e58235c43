"""An idle server costs next to nothing: after a login has come and gone, its outbox dispatcher,
expiry and purge jobs look and find nothing, and write nothing (the fault drill's finding 4: two
idle-ish replicas used 1.26 cores at 20 logins/s; bench/drill.py measures the rate again)."""

from __future__ import annotations

import sqlite3
import time

from tests.conftest import ADMIN_TOKEN, api_clients
from tests.support.ciba import CibaClient, Phone
from tests.support.process import free_port, served_process, server_env
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for

IDLE_SECONDS = 4.0  # the dispatcher's look (2 s) twice; the expiry job and purges, each second


def test_an_idle_server_writes_nothing(tmp_path):
    """On its own SQLite file whatever the suite's database: ``PRAGMA data_version`` tells, from
    another connection, whether anything was committed meanwhile."""
    path = tmp_path / "idle.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env()
    env.update(
        BACKCHANNEL_DATABASE_URL=f"sqlite:///{path}",
        BACKCHANNEL_ADMIN_TOKEN=ADMIN_TOKEN,
        BACKCHANNEL_ISSUER=url,
        BACKCHANNEL_PURGE_INTERVAL_SECONDS="1",
    )
    with (
        Receiver.start() as receiver,
        (tmp_path / "server.log").open("w") as log,
        served_process(env, port, log),
        api_clients(url) as (admin, http),
    ):
        receiver.default = (204, b"")
        client = CibaClient.register(
            admin,
            http,
            backchannel_token_delivery_mode="ping",
            backchannel_client_notification_endpoint=receiver.url + "/cb",
        )
        phone = Phone.enroll(admin, http, url, "idle")
        auth_req_id = client.start(login_hint="idle", client_notification_token="n")
        phone.answer("approve")
        wait_for(lambda: receiver.requests)
        assert client.poll(auth_req_id).status_code == 200
        time.sleep(1.0)  # the delivery's outcome and the redemption are written

        watcher = sqlite3.connect(path)
        try:
            before = watcher.execute("PRAGMA data_version").fetchone()[0]
            time.sleep(IDLE_SECONDS)
            after = watcher.execute("PRAGMA data_version").fetchone()[0]
        finally:
            watcher.close()
        assert after == before, "an idle server committed a write"
        # It was idle, not stuck: the next login goes through at once.
        client.start(login_hint="idle", client_notification_token="n")
        assert len(phone.pending()) == 1
