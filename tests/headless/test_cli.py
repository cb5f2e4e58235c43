"""`backchannel headless-login`, the reference client, as a real process against the live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ciba import CibaClient, Phone, verify_id_token
from tests.support.waiting import wait_for

BIN = Path(sys.executable).parent / "backchannel"


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http)


def _login(server, client, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
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
        assert any(block in text for text in lines for block in "█▀▄")  # the QR itself
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
