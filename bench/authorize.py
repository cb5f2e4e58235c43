"""Redirect-flow figures on this machine: how fast the login page moves on after the phone
approves, and how fast codes are issued and redeemed.

    .venv/bin/python -m bench.authorize [--rounds 100] [--codes 500]

Starts `backchannel serve` in its own process (see bench/common.py). For each round a browser
(an httpx client with cookies) opens /authorize, asks for the user's phone and listens to the
page's event stream; latency runs from the moment the phone sends its approval to the moment the
page's stream says ``approved``, then the browser continues and the code is redeemed. With the
session that leaves, `--codes` more logins skip the phone: /authorize answers with a code at
once, and each code is redeemed at /token (throughput of both, one at a time).
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from typing import Any

import httpx

from bench.common import ADMIN, report, server
from tests.support.device import SimulatedDevice, enroll_new_device
from tests.support.web import pkce_pair

SETTINGS = {
    "BACKCHANNEL_RATE_LIMIT_PER_CLIENT": "100000000",
    "BACKCHANNEL_RATE_LIMIT_PER_USER": "100000000",
}
CALLBACK = "http://127.0.0.1:9999/callback"


def setup(http: httpx.Client, url: str) -> tuple[dict[str, Any], SimulatedDevice]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as admin:
        client = admin.post(
            "/admin/clients", json={"redirect_uris": [CALLBACK], "client_name": "Bench shop"}
        ).json()
        user = admin.post("/admin/users", json={"username": "bench"}).json()
        device = enroll_new_device(admin, http, url, user["id"])
    return client, device


def pkce() -> tuple[str, dict[str, str]]:
    verifier, challenge = pkce_pair()
    return verifier, {"code_challenge": challenge, "code_challenge_method": "S256"}


def params(client: dict[str, Any], extra: dict[str, str]) -> dict[str, str]:
    return {
        "client_id": client["client_id"],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": "bench",
        **extra,
    }


def redeem(http: httpx.Client, client: dict[str, Any], location: str, verifier: str) -> None:
    code = re.search(r"[?&]code=([^&]+)", location)
    assert code, location
    response = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code.group(1),
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text


def one_login(
    url: str, http: httpx.Client, browser: httpx.Client, client: dict[str, Any], device: Any
) -> float:
    verifier, challenge = pkce()
    page = browser.get("/authorize", params=params(client, {**challenge, "prompt": "login"}))
    path = page.headers["location"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get(path).text)
    assert csrf
    browser.post(path + "/ask", data={"csrf": csrf.group(1), "username": "bench"})
    approved = threading.Event()
    opened = threading.Event()
    cookies = dict(browser.cookies)

    def listen() -> None:
        with (
            httpx.Client(base_url=url, cookies=cookies, timeout=30) as sse,
            sse.stream("GET", path + "/events") as stream,
        ):
            opened.set()
            for line in stream.iter_lines():
                if '"approved"' in line:
                    approved.set()
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    opened.wait(10)
    (pending,) = http.get("/devices/me/requests", headers=device.auth()).json()
    number = re.search(r'id="number">(\d+)<', browser.get(path).text)
    assert number
    sent = time.perf_counter()
    device.decide(http, pending["id"], "approve", number_match=number.group(1))
    assert approved.wait(10), "the page never heard of the approval"
    latency = time.perf_counter() - sent
    listener.join()
    back = browser.post(path + "/continue", data={"csrf": csrf.group(1)})
    redeem(http, client, back.headers["location"], verifier)
    return latency


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--codes", type=int, default=500)
    args = parser.parse_args()
    with server(SETTINGS) as (url, _proc), httpx.Client(base_url=url, timeout=30) as http:
        client, device = setup(http, url)
        browser = httpx.Client(base_url=url, timeout=30)
        latencies = [one_login(url, http, browser, client, device) for _ in range(args.rounds)]
        report("phone approval → page 'approved'", latencies)

        authorize_times, token_times = [], []
        for _ in range(args.codes):
            verifier, challenge = pkce()
            started = time.perf_counter()
            response = browser.get("/authorize", params=params(client, challenge))
            authorize_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            redeem(http, client, response.headers["location"], verifier)
            token_times.append(time.perf_counter() - started)
        report("/authorize with a session → code", authorize_times)
        report("/token authorization_code", token_times)
        for label, samples in (("/authorize", authorize_times), ("/token", token_times)):
            print(f"{label:<34} {len(samples) / sum(samples):7.1f} req/s (one at a time)")
        browser.close()


if __name__ == "__main__":
    main()
