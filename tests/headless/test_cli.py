"""`backchannel headless-login`, the reference client, as a real process against the live server."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ciba import CibaClient, Phone, verify_id_token
from tests.support.process import server_env
from tests.support.waiting import wait_for

BIN = Path(sys.executable).parent / "backchannel"


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http)


def _login(server, client, *args: str) -> subprocess.Popen[str]:
    env = server_env()
    env["BACKCHANNEL_CLIENT_SECRET"] = client.secret  # not on the command line
    command = [str(BIN), "headless-login", "--issuer", server.url, "--client-id", client.client_id]
    return subprocess.Popen(
        [*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_with_a_hint_the_phone_approves_and_the_tokens_are_printed(admin, http, server, client):
    phone = Phone.enroll(admin, http, server.url, "ivan")
    proc = _login(server, client, "--login-hint", "ivan", "--binding-message", "CLI test")
    try:
        wait_for(phone.pending, timeout=15)
        assert phone.answer("approve")["binding_message"] == "CLI test"
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    tokens = json.loads(out)
    assert (
        verify_id_token(server.url, tokens["id_token"], client.client_id)["sub"] == phone.user["id"]
    )
    assert "waiting for approval" in err


def test_without_a_hint_it_shows_a_qr_that_the_phone_scans(admin, http, server, client):
    phone = Phone.enroll(admin, http, server.url, "jane")
    proc = _login(server, client)
    try:
        assert proc.stderr is not None
        lines = []
        while not (line := proc.stderr.readline()).startswith(server.url + "/qr/"):
            assert line, "the CLI ended before printing a QR"
            lines.append(line)
        # Not a terminal (a pipe here): the URL alone, no drawing nobody could scan.
        assert not any(block in text for text in lines for block in "█▀▄")
        scanned = phone.http.post(
            "/devices/me/scan", json={"qr_uri": line.strip()}, headers=phone.device.auth()
        )
        assert scanned.status_code == 200, scanned.text
        phone.answer("approve")
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "access_token" in json.loads(out)


@pytest.fixture(scope="module")
def rotating(tmp_path_factory):
    """A server whose QR codes rotate every second."""
    from tests.conftest import _new_database, make_settings
    from tests.support.live import LiveServer

    url, drop = _new_database(tmp_path_factory.mktemp("rotating"))
    settings = lambda issuer: make_settings(url, issuer=issuer, qr_rotation_seconds=1)  # noqa: E731
    with LiveServer.start(settings) as server:
        yield server
    drop()


def test_on_a_terminal_each_new_code_is_drawn_over_the_last(rotating):
    import httpx

    from tests.conftest import ADMIN_TOKEN

    with httpx.Client(
        base_url=rotating.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as admin:
        client = CibaClient.register(admin, admin)
    controller, terminal = pty.openpty()
    env = server_env()
    env["BACKCHANNEL_CLIENT_SECRET"] = client.secret
    command = [str(BIN), "headless-login", "--issuer", rotating.url]
    command += ["--client-id", client.client_id]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 15
        while seen.count(b"/qr/") < 3 and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.5)[0]:
                seen += os.read(controller, 65536)
    finally:
        proc.kill()
        proc.wait()
        os.close(controller)
    text = seen.decode()
    assert text.count("/qr/") >= 3, text  # it rotated twice
    drawings = text.split("scan with an enrolled authenticator")[1]
    first, *later = re.split(r"\x1b\[(\d+)F\x1b\[J", drawings)
    assert len(later) >= 4  # (lines, drawing) for each redraw: in place, not below
    assert "█" in first or "▀" in first
    drawn = first.replace("\r\n", "\n").split("\n", 1)[1]  # below the "scan with" line
    assert int(later[0]) == drawn.count("\n")  # up exactly over the previous code
