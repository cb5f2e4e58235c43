"""CIBA figures on this machine: /bc-authorize and poll throughput, approval-to-token latency.

    .venv/bin/python -m bench.ciba [--requests 400] [--concurrency 16] [--rounds 20]

Starts `backchannel serve` in its own process on a fresh SQLite file (or on
BACKCHANNEL_DATABASE_URL if set), drives it over real HTTP with an enrolled simulated phone and
a loopback notification receiver, and prints the figures. Rate limits are lifted for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.common import ADMIN, CIBA, report, server
from tests.support.device import SimulatedDevice
from tests.support.receiver import Receiver

# A 1 s interval so that plain polling is measured at its fastest; no rate limits.
CIBA_ENV = {
    "BACKCHANNEL_CIBA_POLL_INTERVAL": "1",
    "BACKCHANNEL_RATE_LIMIT_PER_CLIENT": "100000000",
    "BACKCHANNEL_RATE_LIMIT_PER_USER": "100000000",
}


class Bench:
    def __init__(self, url: str, http: httpx.AsyncClient, receiver: Receiver) -> None:
        self.url = url
        self.http = http
        self.receiver = receiver
        self.admin = {"Authorization": f"Bearer {ADMIN}"}

    async def setup(self) -> None:
        user = await self._admin("POST", "/admin/users", {"username": "bench"})
        code = await self._admin("POST", f"/admin/users/{user['id']}/enrollments")
        self.device = SimulatedDevice(self.url)
        enrolled = await self.http.post(
            "/devices",
            json={"enrollment_code": code["enrollment_code"], "public_jwk": self.device.public_jwk},
        )
        self.device.device_id = self.device.key.kid = enrolled.json()["device_id"]
        self.clients = {mode: await self._client(mode) for mode in ("poll", "ping", "push")}

    async def _admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.http.request(method, path, json=body, headers=self.admin)
        response.raise_for_status()
        return dict(response.json())

    async def _client(self, mode: str) -> tuple[str, str]:
        metadata: dict[str, Any] = {"grant_types": [CIBA], "backchannel_token_delivery_mode": mode}
        if mode != "poll":
            metadata["backchannel_client_notification_endpoint"] = self.receiver.url + "/cb"
        client = await self._admin("POST", "/admin/clients", metadata)
        return client["client_id"], client["client_secret"]

    async def authorize(self, mode: str = "poll") -> str:
        response = await self.http.post(
            "/bc-authorize",
            data={"scope": "openid", "login_hint": "bench", "client_notification_token": "n"},
            auth=self.clients[mode],
        )
        assert response.status_code == 200, response.text
        return str(response.json()["auth_req_id"])

    async def poll(self, auth_req_id: str, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/token",
            data={"grant_type": CIBA, "auth_req_id": auth_req_id},
            auth=self.clients["poll"] if "ping" not in headers else self.clients["ping"],
            headers={k: v for k, v in headers.items() if k != "ping"},
        )

    async def approve_pending(self) -> float:
        """Approve the one pending request; returns the moment the decision was accepted."""
        listed = await self.http.get("/devices/me/requests", headers=self.device.auth())
        (shown,) = listed.json()
        body = {"decision_jwt": self.device.decision_jwt(shown["id"])}
        response = await self.http.post(
            f"/devices/me/requests/{shown['id']}/decision", json=body, headers=self.device.auth()
        )
        assert response.status_code == 200, response.text
        return time.monotonic()


async def throughput(
    label: str, total: int, concurrency: int, work: Callable[[int], Awaitable[None]]
) -> None:
    queue = iter(range(total))
    started = time.monotonic()

    async def worker() -> None:
        for i in queue:
            await work(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    rate = total / elapsed
    print(f"{label:<34} {rate:8.0f} req/s   ({total} in {elapsed:.2f} s, {concurrency} at once)")


async def latency_poll(bench: Bench, prefer: str | None) -> float:
    auth_req_id = await bench.authorize()
    headers = {"prefer": prefer} if prefer else {}
    result: dict[str, float] = {}

    async def poller() -> None:
        while True:
            if not prefer:
                await asyncio.sleep(1.0)  # the interval
            response = await bench.poll(auth_req_id, **headers)
            if response.status_code == 200:
                result["at"] = time.monotonic()
                return
            assert response.json()["error"] == "authorization_pending", response.text

    task = asyncio.create_task(poller())
    await asyncio.sleep(0.25 + (time.monotonic() % 0.5))  # approve at an arbitrary moment
    approved = await bench.approve_pending()
    await task
    return result["at"] - approved


async def latency_notified(bench: Bench, mode: str) -> float:
    before = len(bench.receiver.requests)
    auth_req_id = await bench.authorize(mode)
    approved = await bench.approve_pending()
    while len(bench.receiver.requests) == before:
        await asyncio.sleep(0.0005)
    arrived = bench.receiver.requests[-1].received_at
    if mode == "push":
        return arrived - approved
    response = await bench.poll(auth_req_id, ping="1")  # a ping client redeems when pinged
    assert response.status_code == 200, response.text
    return time.monotonic() - approved


async def main(args: argparse.Namespace) -> None:
    with Receiver.start() as receiver, server(CIBA_ENV) as (url, _):
        receiver.default = (204, b"")
        limits = httpx.Limits(max_connections=args.concurrency * 2)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
            bench = Bench(url, http, receiver)
            await bench.setup()
            ids: list[str] = []

            async def start(_: int) -> None:
                ids.append(await bench.authorize())

            await throughput("POST /bc-authorize", args.requests, args.concurrency, start)

            async def poll(i: int) -> None:
                response = await bench.poll(ids[i])
                assert response.json()["error"] == "authorization_pending", response.text

            await throughput("POST /token (pending poll)", len(ids), args.concurrency, poll)
            # Clear the pending requests so each latency round has exactly one.
            for request in (
                await http.get("/devices/me/requests", headers=bench.device.auth())
            ).json():
                body = {"decision_jwt": bench.device.decision_jwt(request["id"], "deny")}
                await http.post(
                    f"/devices/me/requests/{request['id']}/decision",
                    json=body,
                    headers=bench.device.auth(),
                )
            print("approval → tokens:")
            rounds = args.rounds
            report(
                "  poll every interval (1 s)",
                [await latency_poll(bench, None) for _ in range(rounds)],
            )
            report(
                "  long poll (Prefer: wait=1)",
                [await latency_poll(bench, "wait=1") for _ in range(rounds)],
            )
            report(
                "  ping, then /token",
                [await latency_notified(bench, "ping") for _ in range(rounds)],
            )
            report(
                "  push (tokens at the endpoint)",
                [await latency_notified(bench, "push") for _ in range(rounds)],
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
