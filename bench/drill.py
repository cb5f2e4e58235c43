"""The fault drill's load, measured: two replicas on one PostgreSQL, logins at a steady rate.

    .venv/bin/python -m bench.drill [--rate 20] [--seconds 30] [--idle 10]

Starts two `backchannel serve` processes on one fresh PostgreSQL database
(BENCH_DRILL_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/bench_drill,
dropped and created again), enrolls simulated phones, then:

1. leaves both replicas idle for ``--idle`` seconds and reports the CPU they used (the outbox
   dispatcher and the event listener should cost next to nothing when nothing happens);
2. starts ``--rate`` logins a second for ``--seconds`` seconds, each on one replica and approved
   through the other, in turn poll (a long poll), ping and push, and reports the logins that
   finished, start → tokens in hand latency, and the CPU of both replicas and of PostgreSQL.

The issue's drill ran 20 logins/s on two replicas, which then used 1.26 cores between them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.common import ADMIN, CIBA, report
from tests.support.device import SimulatedDevice
from tests.support.process import free_port, served_process, server_env
from tests.support.receiver import Receiver

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_drill"
TICKS = os.sysconf("SC_CLK_TCK")
MODES = ("poll", "ping", "push")


def fresh_database(url: str) -> None:
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far, from /proc."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class Meter:
    """Cores used by the replicas and by PostgreSQL since it was made (CPU seconds / wall)."""

    def __init__(self, replicas: list[int]) -> None:
        self.replicas = replicas
        self.wall = time.monotonic()
        self.cpu = cpu_seconds(replicas), cpu_seconds(postgres_pids())

    def cores(self) -> tuple[float, float, float]:
        elapsed = time.monotonic() - self.wall
        replicas = (cpu_seconds(self.replicas) - self.cpu[0]) / elapsed
        database = (cpu_seconds(postgres_pids()) - self.cpu[1]) / elapsed
        return replicas, database, elapsed


class Drill:
    def __init__(self, urls: list[str], issuer: str, receiver: Receiver) -> None:
        self.urls = urls
        self.issuer = issuer
        self.receiver = receiver
        self.phones: list[tuple[str, SimulatedDevice]] = []
        self.clients: dict[str, tuple[str, str]] = {}
        self.latencies: list[float] = []
        self.failures: list[str] = []

    async def setup(self, http: httpx.AsyncClient, users: int) -> None:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        base = self.urls[0]
        for mode in MODES:
            metadata: dict[str, Any] = {
                "grant_types": [CIBA],
                "backchannel_token_delivery_mode": mode,
            }
            if mode != "poll":
                metadata["backchannel_client_notification_endpoint"] = self.receiver.url + "/cb"
            client = (await http.post(base + "/admin/clients", json=metadata, headers=admin)).json()
            self.clients[mode] = (client["client_id"], client["client_secret"])
        for i in range(users):
            name = f"drill{i}"
            user = await http.post(base + "/admin/users", json={"username": name}, headers=admin)
            user_id = user.json()["id"]
            code = await http.post(f"{base}/admin/users/{user_id}/enrollments", headers=admin)
            device = SimulatedDevice(self.issuer)
            enrolled = await http.post(
                base + "/devices",
                json={
                    "enrollment_code": code.json()["enrollment_code"],
                    "public_jwk": device.public_jwk,
                },
            )
            device.device_id = device.key.kid = enrolled.json()["device_id"]
            self.phones.append((name, device))

    async def login(self, http: httpx.AsyncClient, n: int) -> None:
        mode = MODES[n % len(MODES)]
        start_at, approve_at = self.urls[n % 2], self.urls[(n + 1) % 2]
        name, phone = self.phones[n % len(self.phones)]
        message = f"drill {n}"
        started = time.monotonic()
        try:
            response = await http.post(
                start_at + "/bc-authorize",
                data={
                    "scope": "openid",
                    "login_hint": name,
                    "binding_message": message,
                    "client_notification_token": f"token-{n}",
                },
                auth=self.clients[mode],
            )
            response.raise_for_status()
            auth_req_id = response.json()["auth_req_id"]
            await self._approve(http, approve_at, phone, message)
            await self._tokens(http, start_at, mode, auth_req_id, n)
        except Exception as exc:  # counted and shown: the drill goes on
            self.failures.append(f"{mode} #{n}: {type(exc).__name__}: {exc}"[:200])
            return
        self.latencies.append(time.monotonic() - started)

    async def _approve(
        self, http: httpx.AsyncClient, url: str, phone: SimulatedDevice, message: str
    ) -> None:
        listed = await http.get(url + "/devices/me/requests", headers=phone.auth())
        (shown,) = [r for r in listed.json() if r.get("binding_message") == message]
        response = await http.post(
            f"{url}/devices/me/requests/{shown['id']}/decision",
            json={"decision_jwt": phone.decision_jwt(shown["id"])},
            headers=phone.auth(),
        )
        response.raise_for_status()

    async def _tokens(
        self, http: httpx.AsyncClient, url: str, mode: str, auth_req_id: str, n: int
    ) -> None:
        if mode == "poll":  # a long poll answers as soon as the decision is known
            form = {"grant_type": CIBA, "auth_req_id": auth_req_id}
            for _ in range(10):
                response = await http.post(
                    url + "/token",
                    data=form,
                    auth=self.clients[mode],
                    headers={"prefer": "wait=5"},
                )
                if response.status_code == 200:
                    return
            raise RuntimeError(f"no tokens: {response.text}")
        token = f"Bearer token-{n}"
        deadline = time.monotonic() + 15
        while not any(r.headers.get("authorization") == token for r in self.receiver.requests):
            if time.monotonic() > deadline:
                raise TimeoutError("no notification")
            await asyncio.sleep(0.002)
        if mode == "ping":
            form = {"grant_type": CIBA, "auth_req_id": auth_req_id}
            response = await http.post(url + "/token", data=form, auth=self.clients[mode])
            response.raise_for_status()


async def run(args: argparse.Namespace) -> None:
    url = os.environ.get("BENCH_DRILL_DATABASE_URL", DEFAULT_URL)
    fresh_database(url)
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    env = server_env()
    env.update(
        BACKCHANNEL_ISSUER=urls[0],  # one issuer for both, as behind a load balancer
        BACKCHANNEL_DATABASE_URL=url,
        BACKCHANNEL_ADMIN_TOKEN=ADMIN,
        BACKCHANNEL_LOG_LEVEL="WARNING",
        BACKCHANNEL_RATE_LIMIT_PER_USER="1000000",
        BACKCHANNEL_RATE_LIMIT_PER_CLIENT="1000000",
    )
    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver.start())
        receiver.default = (204, b"")
        first = stack.enter_context(served_process(env, ports[0]))
        second = stack.enter_context(served_process(env, ports[1]))
        replicas = [first.pid, second.pid]
        print(f"two replicas {urls}, database {url}")
        async with httpx.AsyncClient(timeout=30) as http:
            drill = Drill(urls, urls[0], receiver)
            await drill.setup(http, args.users)

            await asyncio.sleep(2)  # setup's own deliveries and jobs settle
            meter = Meter(replicas)
            await asyncio.sleep(args.idle)
            idle, idle_pg, _ = meter.cores()
            print(
                f"idle {args.idle:g} s: replicas {idle:.4f} cores, PostgreSQL {idle_pg:.4f} cores"
            )

            meter = Meter(replicas)
            tasks = []
            for n in itertools.count():
                due = n / args.rate
                if due >= args.seconds:
                    break
                await asyncio.sleep(max(0.0, meter.wall + due - time.monotonic()))
                tasks.append(asyncio.create_task(drill.login(http, n)))
            await asyncio.gather(*tasks)
            used, used_pg, _ = meter.cores()
            print(
                f"{args.rate:g} logins/s for {args.seconds:g} s: {len(drill.latencies)} of "
                f"{len(tasks)} logins with tokens, {len(drill.failures)} failed; replicas "
                f"{used:.3f} cores, PostgreSQL {used_pg:.3f} cores"
            )
            report("  start → tokens in hand", drill.latencies)
            for failure in drill.failures[:5]:
                print("  failed:", failure)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=float, default=10)
    parser.add_argument("--users", type=int, default=60)
    asyncio.run(run(parser.parse_args()))
