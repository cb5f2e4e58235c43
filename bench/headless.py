"""Headless figures on this machine: decision-to-tokens latency on the socket, and how many
sockets one server process holds with what memory.

    .venv/bin/python -m bench.headless [--rounds 100] [--idle 10000] [--waiting 1000]

Starts `backchannel serve` in its own process (see bench/common.py). Latency is measured from
the moment the phone sends its decision to the moment the tokens frame arrives. Memory is the
server's resident size before and after opening the sockets: `--idle` sockets that are connected
and have not started (the cheapest state), and `--waiting` ones that started a login and wait
for the phone (an auth request, a subscription and a task each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from bench.common import ADMIN, CIBA, report, rss_mib, server
from tests.support.device import SimulatedDevice

SETTINGS = {
    "BACKCHANNEL_RATE_LIMIT_PER_CLIENT": "100000000",
    "BACKCHANNEL_RATE_LIMIT_PER_USER": "100000000",
    "BACKCHANNEL_HEADLESS_MAX_SOCKETS_PER_CLIENT": "100000",
    "BACKCHANNEL_HEADLESS_START_TIMEOUT": "3600",
    "BACKCHANNEL_CIBA_DEFAULT_EXPIRY": "600",
}


async def setup(http: httpx.AsyncClient, url: str) -> tuple[dict[str, Any], SimulatedDevice]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    client = (
        await http.post(
            "/admin/clients",
            json={"grant_types": [CIBA], "backchannel_token_delivery_mode": "poll"},
            headers=admin,
        )
    ).json()
    user = (await http.post("/admin/users", json={"username": "bench"}, headers=admin)).json()
    code = (await http.post(f"/admin/users/{user['id']}/enrollments", headers=admin)).json()
    device = SimulatedDevice(url)
    enrolled = await http.post(
        "/devices",
        json={"enrollment_code": code["enrollment_code"], "public_jwk": device.public_jwk},
    )
    device.device_id = device.key.kid = enrolled.json()["device_id"]
    start = {
        "type": "start",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "scope": "openid",
        "login_hint": "bench",
    }
    return start, device


async def one_login(
    ws_url: str, http: httpx.AsyncClient, start: dict, device: SimulatedDevice
) -> float:
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps(start))
        assert json.loads(await ws.recv())["type"] == "pending"
        (shown,) = (await http.get("/devices/me/requests", headers=device.auth())).json()
        body = {"decision_jwt": device.decision_jwt(shown["id"])}
        decided = time.monotonic()
        answer = asyncio.ensure_future(
            http.post(
                f"/devices/me/requests/{shown['id']}/decision", json=body, headers=device.auth()
            )
        )
        frame = json.loads(await ws.recv())
        arrived = time.monotonic()
        assert frame["type"] == "tokens", frame
        assert (await answer).status_code == 200
        return arrived - decided


async def open_sockets(ws_url: str, count: int, start: dict | None) -> list[Any]:
    sockets: list[Any] = []
    gate = asyncio.Semaphore(100)  # a connect storm bigger than the listen backlog only retries

    async def one() -> None:
        async with gate:
            ws = await websockets.connect(ws_url, ping_interval=None, open_timeout=60)
            if start is not None:
                await ws.send(json.dumps(start))
                assert json.loads(await ws.recv())["type"] == "pending"
            sockets.append(ws)

    await asyncio.gather(*(one() for _ in range(count)))
    return sockets


async def hold(label: str, ws_url: str, pid: int, count: int, start: dict | None) -> None:
    if not count:
        return
    before = rss_mib(pid)
    started = time.monotonic()
    sockets = await open_sockets(ws_url, count, start)
    took = time.monotonic() - started
    await asyncio.sleep(2)
    after = rss_mib(pid)
    alive = sum(1 for ws in sockets if ws.state.name == "OPEN")
    per = (after - before) * 1024 / count
    print(
        f"{label:<28} {alive:>6} open   server RSS {before:6.0f} → {after:6.0f} MiB "
        f"({per:.1f} KiB each)   opened in {took:.1f} s"
    )
    await asyncio.gather(*(ws.close() for ws in sockets))


async def main(args: argparse.Namespace) -> None:
    with server(SETTINGS) as (url, proc):
        ws_url = url.replace("http://", "ws://") + "/headless"
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            start, device = await setup(http, url)
            samples = [await one_login(ws_url, http, start, device) for _ in range(args.rounds)]
            report("decision → tokens on the socket", samples)
            await hold("idle (connected, no start)", ws_url, proc.pid, args.idle, None)
            await hold("waiting for the phone", ws_url, proc.pid, args.waiting, start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--waiting", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
