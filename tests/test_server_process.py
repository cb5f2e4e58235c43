"""The real command line: `backchannel serve` in its own process, operator commands beside it,
and a log that never shows a secret."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.logging import redact
from tests.support.ciba import CibaClient, Phone, long_poll_while
from tests.support.process import BIN, free_port, served_process, server_env

ADMIN = "process-admin-token-0123456789abcdefghijkl"


@pytest.fixture
def process_env(fresh_database_url: str) -> dict[str, str]:
    env = server_env()
    env.update(
        BACKCHANNEL_DATABASE_URL=fresh_database_url,
        BACKCHANNEL_ADMIN_TOKEN=ADMIN,
        BACKCHANNEL_LOG_FORMAT="json",
    )
    return env


@pytest.fixture
def served(process_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    env = {**process_env, "BACKCHANNEL_ISSUER": url, "BACKCHANNEL_ACCESS_LOG": "true"}
    with log_path.open("w") as log, served_process(env, port, log):
        yield url, log_path


def _cli(env: dict[str, str], *args: str) -> dict:
    result = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_operates_on_the_running_servers_database_and_logs_hold_no_secrets(served, process_env):
    url, log_path = served
    discovery = httpx.get(url + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == url
    assert any(
        k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in httpx.get(url + "/jwks").json()["keys"]
    )

    user = _cli(process_env, "users", "create", "grace", "--email", "grace@example.com")
    assert user["username"] == "grace"
    client = _cli(
        process_env, "clients", "create", "--name", "Till", "--grant-type", "client_credentials"
    )
    secret = client["client_secret"]

    token = httpx.post(
        url + "/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], secret),
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    # Credentials in places they do not belong still must not reach the log.
    httpx.get(url + f"/healthz?client_secret={secret}&access_token={access_token}")
    wrong = {"client_id": client["client_id"], "client_secret": secret + "x"}
    httpx.post(url + "/token", data={"grant_type": "client_credentials", **wrong})
    httpx.get(url + "/admin/users", headers={"Authorization": f"Bearer {ADMIN}"})

    time.sleep(0.3)
    log = log_path.read_text()
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines and all(
        json.loads(line)["level"] for line in lines
    )  # structured, one object a line
    assert "GET /healthz" in log  # the access log is there...
    for secret_value in (secret, access_token, ADMIN):
        assert secret_value not in log  # ...with the credentials masked


def test_cli_help_lists_the_operator_commands(process_env):
    result = subprocess.run(
        [str(BIN), "--help"], env=process_env, capture_output=True, text=True, timeout=30
    )
    for command in ("serve", "db", "keys", "clients", "users"):
        assert command in result.stdout


def test_cli_reports_bad_input_as_an_error(process_env):
    result = subprocess.run(
        [str(BIN), "clients", "create", "--grant-type", "password"],
        env=process_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    said, error = result.stderr.splitlines()[-2:]  # which database, then the error
    assert said.startswith("database: ")
    assert json.loads(error)["error"] == "invalid_client_metadata"


def test_redaction_masks_credentials_in_every_shape():
    jwt_like = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    text = redact(
        f"code=abc123&state=ok Authorization: Bearer s3cr3t Basic dXNlcjpwYXNz {jwt_like} "
        '{"client_secret": "hunter2", "refresh_token":"rt-1"}'
    )
    for secret in ("abc123", "s3cr3t", "dXNlcjpwYXNz", jwt_like, "hunter2", "rt-1"):
        assert secret not in text
    assert "state=ok" in text


@pytest.fixture
def impatient(process_env: dict[str, str]) -> Iterator[str]:
    """`backchannel serve` with one-second header and body timeouts."""
    port = free_port()
    env = {
        **process_env,
        "BACKCHANNEL_ISSUER": f"http://127.0.0.1:{port}",
        "BACKCHANNEL_HTTP_HEADER_TIMEOUT": "1",
        "BACKCHANNEL_HTTP_BODY_TIMEOUT": "1",
    }
    with served_process(env, port, subprocess.DEVNULL):
        yield f"127.0.0.1:{port}"


def _closed_within(address: str, sent: bytes, seconds: float) -> bool:
    """Send ``sent`` (a request cut short) and wait: True if the server hung up in time."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=seconds) as raw:
        raw.sendall(sent)
        try:
            return raw.recv(1024) == b""
        except TimeoutError:
            return False


def test_half_sent_requests_are_dropped_after_the_timeouts(impatient):
    """Issue 16, finding 10: a slow client (slowloris) cannot hold a connection."""
    headers_cut = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
    assert _closed_within(impatient, headers_cut, seconds=4)
    body_cut = (
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100\r\n\r\ngrant_type="
    )
    assert _closed_within(impatient, body_cut, seconds=4)
    # An idle connection that sent nothing at all goes too.
    assert _closed_within(impatient, b"", seconds=4)
    # A whole request is answered as ever.
    assert httpx.get(f"http://{impatient}/healthz").status_code == 200


def test_several_workers_are_refused_on_sqlite_with_the_reason(process_env, tmp_path):
    never = tmp_path / "never.db"
    process_env = {**process_env, "BACKCHANNEL_DATABASE_URL": f"sqlite:///{never}"}
    result = subprocess.run(
        [str(BIN), "serve", "--port", str(free_port()), "--workers", "2"],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers needs PostgreSQL" in result.stderr
    assert not never.exists()


def test_two_workers_on_postgresql_serve_one_port_and_share_their_events(process_env, db_kind):
    if db_kind != "postgresql":
        pytest.skip("several workers run on PostgreSQL only (the SQLite refusal is tested above)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**process_env, "BACKCHANNEL_ISSUER": url, "BACKCHANNEL_RATE_LIMIT_PER_USER": "100"}
    with (
        served_process(env, port, None, "--workers", "2") as proc,
        httpx.Client(base_url=url, timeout=10) as http,
        httpx.Client(
            base_url=url, timeout=10, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as admin,
    ):
        assert len(_workers(proc.pid)) == 2
        phone = Phone.enroll(admin, http, url, "wanda")
        client = CibaClient.register(admin, http)
        # Each long poll and decision lands on whichever worker accepts it: a decision made in
        # one worker must wake a poll waiting in the other, every time.
        for _ in range(6):
            auth_req_id = client.start(login_hint="wanda")
            answer, after = long_poll_while(client, auth_req_id, phone.answer)
            assert answer.status_code == 200, answer.text
            assert after < 1.0


def _workers(pid: int) -> list[int]:
    """The server processes uvicorn's supervisor ``pid`` started (not its resource tracker)."""
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.split(None, 1) for line in out.stdout.strip().splitlines()]
    return [int(child) for child, args in lines if "spawn_main" in args]


def test_a_server_on_sqlite_never_loads_the_postgresql_driver(tmp_path):
    """psycopg with libpq is about 9 MiB of every process that loads it (docs/performance.md,
    idle sockets): a SQLite server, its lifespan started and stopped, does without."""
    script = (
        "import asyncio, sys\n"
        "from app.main import create_app\n"
        "app = create_app()\n"
        "async def lifespan():\n"
        "    async with app.router.lifespan_context(app):\n"
        "        pass\n"
        "asyncio.run(lifespan())\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
    )
    env = {
        **server_env(),
        "BACKCHANNEL_DATABASE_URL": f"sqlite:///{tmp_path}/lean.db",
        "BACKCHANNEL_ISSUER": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
