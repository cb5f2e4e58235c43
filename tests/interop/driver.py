"""Run one of the node scripts next to this file against a live server, answering its steps the
way the user would: approving on the simulated phone, logging in through the browser."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.ciba import Phone
from tests.support.payments import shown_hash
from tests.support.web import Browser, form_post_fields, log_in_at

HERE = Path(__file__).parent


def node_modules() -> Path:
    """The pinned npm packages; `make test` installs them (`npm ci` in tests/interop)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the interop tests need node (>= 20) and npm on PATH")
    modules = HERE / "node_modules"
    if not (modules / "openid-client").is_dir() or not (modules / "oauth4webapi").is_dir():
        raise RuntimeError("run `npm ci --prefix tests/interop` (make test does) first")
    return modules


def run_node(script: str, config: dict[str, Any], phone: Phone, browser: Browser) -> Any:
    node_modules()
    process = subprocess.Popen(
        ["node", str(HERE / script), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for line in process.stdout:
            message = json.loads(line)
            if "result" in message:
                return message["result"]
            if "error" in message:
                raise AssertionError(f"{script} failed: {message}")
            answer = _answer(message, phone, browser)
            process.stdin.write(json.dumps(answer) + "\n")
            process.stdin.flush()
        raise AssertionError(f"{script} ended without a result: {process.stderr.read()}")
    finally:
        process.kill()
        process.wait(timeout=5)


def _answer(message: dict[str, Any], phone: Phone, browser: Browser) -> dict[str, Any]:
    if message["step"] == "approve":
        phone.answer("approve")
        return {}
    if message["step"] == "approve_payment":  # the phone signs the hash of what it showed
        (shown,) = phone.pending()
        hashed = shown_hash(shown["authorization_details"])
        response = phone.device.decide(
            phone.http, shown["id"], "approve", authorization_details_hash=hashed
        )
        assert response.status_code == 200, response.text
        return {}
    if message["step"] == "login":
        response = log_in_at(browser, message["url"], phone, phone.user["username"])
        if response.status_code == 303:
            return {"url": response.headers["location"]}
        return {"form": {k: html.unescape(v) for k, v in form_post_fields(response).items()}}
    raise AssertionError(f"unexpected step {message}")
