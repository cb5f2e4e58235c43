"""The deployment of docker/compose.yaml, on this machine: docker/nginx/nginx.conf run by
Debian's nginx in front of two live ``backchannel serve`` processes over one PostgreSQL. CIBA
through the proxy, a headless socket held by one replica approved through the other, and one
replica killed mid-traffic while the proxy keeps serving."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import ADMIN_TOKEN, PG_URL, api_clients
from tests.operations.test_readiness_and_metrics import _sample
from tests.support.ciba import CibaClient, Phone
from tests.support.process import free_port, served_process, server_env

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="replicas share PostgreSQL; on SQLite there is one process"
)

CONF = Path(__file__).resolve().parents[2] / "docker" / "nginx" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, "nginx exited"
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)


@pytest.fixture
def deployment(fresh_database_url, tmp_path) -> Iterator[tuple[str, list]]:
    """(the proxy's URL, [(replica URL, process), …])."""
    assert Path(NGINX).exists(), "make test installs nginx (make nginx)"
    proxy_port, ports = free_port(), [free_port(), free_port()]
    issuer = f"http://127.0.0.1:{proxy_port}"
    env = server_env()
    env.update(
        BACKCHANNEL_DATABASE_URL=fresh_database_url,
        BACKCHANNEL_ADMIN_TOKEN=ADMIN_TOKEN,
        BACKCHANNEL_ISSUER=issuer,
        BACKCHANNEL_RATE_LIMIT_PER_USER="1000",
    )
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    shutil.copy(CONF, prefix / "nginx.conf")  # the very file compose mounts
    upstreams = "".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in ports)
    (prefix / "upstreams.conf").write_text(upstreams)
    (prefix / "listen.conf").write_text(f"listen 127.0.0.1:{proxy_port};\n")
    with (
        (tmp_path / "a.log").open("w") as log_a,
        (tmp_path / "b.log").open("w") as log_b,
        served_process(env, ports[0], log_a) as a,
        served_process(env, ports[1], log_b) as b,
    ):
        nginx = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr",
             "-g", "daemon off;"],
            stderr=(tmp_path / "nginx.log").open("w"),
        )  # fmt: skip
        try:
            _wait_for_port(proxy_port, nginx)
            replicas = [
                (f"http://127.0.0.1:{p}", proc) for p, proc in zip(ports, (a, b), strict=True)
            ]
            yield issuer, replicas
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


def _metrics(url: str) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx.get(url + "/metrics", headers=headers, timeout=10).text


def _proxied_requests(exposition: str) -> float:
    """Requests a replica answered, less the probes and scrapes the test sent it directly."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("backchannel_http_requests_total{")
        and 'route="/healthz"' not in line
        and 'route="/metrics"' not in line
    )


def test_two_replicas_behind_nginx(deployment):
    proxy, replicas = deployment
    with api_clients(proxy) as (admin, http):
        client = CibaClient.register(admin, http)
        phone = Phone.enroll(admin, http, proxy, f"lb{time.monotonic_ns()}")

        # CIBA through the proxy, both replicas taking turns.
        for _ in range(3):
            auth_req_id = client.start(login_hint=phone.user["username"])
            phone.answer("approve")
            response = client.poll(auth_req_id)
            assert response.status_code == 200 and "id_token" in response.json()
        for url, _ in replicas:
            assert _proxied_requests(_metrics(url)) >= 3

        # A headless socket through the proxy (WebSocket upgrade), approved on the other replica.
        start = {
            "type": "start",
            "client_id": client.client_id,
            "client_secret": client.secret,
            "scope": "openid",
            "login_hint": phone.user["username"],
        }
        with connect(proxy.replace("http://", "ws://") + "/headless") as ws:
            ws.send(json.dumps(start))
            assert json.loads(ws.recv(timeout=10))["type"] == "pending"
            (holder,) = [
                i
                for i, (url, _) in enumerate(replicas)
                if _sample(_metrics(url), "backchannel_open_sockets", kind="headless") == 1
            ]
            other = replicas[1 - holder][0]
            with httpx.Client(base_url=other, timeout=10) as direct:
                Phone(phone.user, phone.device, direct).answer("approve")
            frame = json.loads(ws.recv(timeout=10))
            assert frame["type"] == "tokens" and frame["id_token"]

        # One replica killed mid-traffic: the proxy keeps serving.
        outcomes: list[int] = []
        stop = threading.Event()

        def traffic() -> None:
            with httpx.Client(base_url=proxy, timeout=10) as c:
                while not stop.is_set():
                    outcomes.append(c.get("/.well-known/openid-configuration").status_code)

        thread = threading.Thread(target=traffic)
        thread.start()
        time.sleep(0.5)
        os.kill(replicas[1][1].pid, signal.SIGKILL)
        killed_at = len(outcomes)
        time.sleep(1.5)
        stop.set()
        thread.join(timeout=15)
        after = outcomes[killed_at:]
        assert len(after) > 10 and all(status == 200 for status in after), set(after)
        # Logins still complete through the proxy on the survivor.
        auth_req_id = client.start(login_hint=phone.user["username"])
        phone.answer("approve")
        assert client.poll(auth_req_id).status_code == 200
