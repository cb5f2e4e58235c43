"""The curl examples in the docs, run as written against a live server: a reader copies them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.ciba import CibaClient, Phone

CIBA_DOC = Path(__file__).parent.parent / "docs" / "flows" / "ciba.md"


def _example(doc: Path, endpoint: str) -> str:
    """The first indented curl command calling ``endpoint``, its continuation lines joined."""
    text = doc.read_text()
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line.startswith("    curl ") and f'{endpoint}"' in line:
            command, i = [line], start
            while command[-1].endswith("\\"):
                i += 1
                command.append(lines[i])
            return " ".join(part.rstrip("\\") for part in command)
    raise AssertionError(f"no curl example for {endpoint} in {doc.name}")


def test_the_first_ciba_example_finds_the_customer_by_phone_number(admin, http, server):
    Phone.enroll(admin, http, server.url, "erin", phone_number="+441632960001")
    client = CibaClient.register(admin, http)
    command = _example(CIBA_DOC, "/bc-authorize")
    env = {"OP": server.url, "CLIENT_ID": client.client_id, "CLIENT_SECRET": client.secret}
    done = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=20, check=False
    )
    answer = json.loads(done.stdout)
    assert "auth_req_id" in answer, answer  # not unknown_user_id: the + arrived as a +


def test_the_ciba_page_says_how_to_enroll_a_phone():
    text = CIBA_DOC.read_text()
    assert "users enroll" in text and "authenticator.md" in text


PAYMENTS_DOC = Path(__file__).parent.parent / "docs" / "flows" / "payments.md"


def test_the_payment_example_puts_the_payment_on_the_phone(admin, http, server):
    phone = Phone.enroll(admin, http, server.url, "alice")
    client = CibaClient.register(admin, http)
    details = next(
        line.strip() for line in PAYMENTS_DOC.read_text().splitlines() if "DETAILS='" in line
    )
    command = details + "; " + _example(PAYMENTS_DOC, "/bc-authorize")
    env = {"OP": server.url, "CLIENT_ID": client.client_id, "CLIENT_SECRET": client.secret}
    done = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=20, check=False
    )
    assert "auth_req_id" in json.loads(done.stdout), done.stdout
    (shown,) = phone.pending()
    assert shown["authorization_details_text"] == ["Pay 42.10 EUR to Corner Shop, ref 8841"]
