"""The app's own cost per request, without uvicorn or sockets: ASGI calls straight into the app.

    .venv/bin/python -m bench.inprocess [--requests 20000] [--poll] [--statements]

Builds the app on a fresh SQLite file (or BACKCHANNEL_DATABASE_URL), registers a poll client and
200 users with a phone each through the admin API, then sends ``--requests`` POST /bc-authorize
(or, with ``--poll``, pending polls on /token for 200 requests) from 32 concurrent callers, as
many as the shared bench keeps in flight, so that group commit works as it does under load. It
prints requests per second and CPU microseconds per request of the whole process (the fsync
thread included). The full server's CPU per request (shared bench) minus this is what uvicorn,
the sockets and the event loop's I/O cost. ``--statements`` (SQLite) adds each statement's time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import os
import tempfile
import time
import urllib.parse
from typing import Any

import httpx
import uvloop

from bench.common import ADMIN, CIBA
from tests.support.device import SimulatedDevice

USERS = 200
CONCURRENCY = 32
ISSUER = "http://127.0.0.1:9"


def configure() -> None:
    folder = tempfile.mkdtemp(prefix="bench-")
    os.environ.setdefault("BACKCHANNEL_DATABASE_URL", f"sqlite:///{folder}/bench.db")
    os.environ.update(
        BACKCHANNEL_ADMIN_TOKEN=ADMIN,
        BACKCHANNEL_ISSUER=ISSUER,
        BACKCHANNEL_LOG_LEVEL="WARNING",
        BACKCHANNEL_RATE_LIMIT_PER_USER="100000000",
        BACKCHANNEL_RATE_LIMIT_PER_CLIENT="100000000",
    )


async def setup(app: Any) -> str:
    """A poll client and USERS users with a phone; returns the client's Authorization value."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        metadata = {"grant_types": [CIBA], "backchannel_token_delivery_mode": "poll"}
        client = (await http.post("/admin/clients", json=metadata, headers=admin)).json()
        for i in range(USERS):
            user = await http.post("/admin/users", json={"username": f"u{i}"}, headers=admin)
            code = await http.post(f"/admin/users/{user.json()['id']}/enrollments", headers=admin)
            body = {
                "enrollment_code": code.json()["enrollment_code"],
                "public_jwk": SimulatedDevice(ISSUER).public_jwk,
            }
            assert (await http.post("/devices", json=body)).status_code == 201
    pair = f"{client['client_id']}:{client['client_secret']}".encode()
    return "Basic " + base64.b64encode(pair).decode()


class Caller:
    """Raw ASGI requests with a form body; counts the statuses."""

    def __init__(self, app: Any, path: str, authorization: str) -> None:
        self.app = app
        self.path = path
        self.authorization = authorization.encode()
        self.statuses: collections.Counter[int] = collections.Counter()

    async def __call__(self, form: dict[str, str]) -> None:
        body = urllib.parse.urlencode(form).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1:9"),
                (b"authorization", self.authorization),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 9),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the app works
            return {}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1

        await self.app(scope, receive, send)


async def load(call: Caller, forms: list[dict[str, str]]) -> tuple[float, float]:
    """Wall seconds and process CPU seconds for every form, CONCURRENCY at a time."""
    queue = iter(forms)

    async def worker() -> None:
        for form in queue:
            await call(form)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - wall, time.process_time() - cpu


def watch_statements(app: Any) -> collections.Counter[str]:
    """Time every statement of the SQLite hot-path connection (a wrapper, not a change)."""
    spent: collections.Counter[str] = collections.Counter()
    sql = app.state.services.db.sql
    real = sql.connection

    class Timed:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def execute(self, statement: str, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return real.execute(statement, *args)
            finally:
                spent[" ".join(statement.split())[:90]] += time.perf_counter() - started

    sql.connection = sql._tx.connection = Timed()
    return spent


async def main(args: argparse.Namespace) -> None:
    configure()
    from app.main import create_app  # after configure(): settings are read at import

    app = create_app()
    async with app.router.lifespan_context(app):
        authorization = await setup(app)
        starts = Caller(app, "/bc-authorize", authorization)
        hints = [{"scope": "openid", "login_hint": f"u{i % USERS}"} for i in range(args.requests)]
        await load(starts, hints)  # warm-up, and a table of realistic size
        if args.poll:
            ids = []
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=ISSUER
            ) as http:
                for i in range(USERS):
                    started = await http.post(
                        "/bc-authorize",
                        data=hints[i],
                        headers={"Authorization": authorization},
                    )
                    ids.append(started.json()["auth_req_id"])
            call = Caller(app, "/token", authorization)
            forms = [
                {"grant_type": CIBA, "auth_req_id": ids[i % USERS]} for i in range(args.requests)
            ]
        else:
            call, forms = Caller(app, "/bc-authorize", authorization), hints
        spent = watch_statements(app) if args.statements else None
        wall, cpu = await load(call, forms)
        n = len(forms)
        print(
            f"{call.path}: {n} requests in {wall:.2f} s, {n / wall:,.0f} req/s, "
            f"{cpu / n * 1e6:.0f} us CPU a request, statuses {dict(call.statuses)}"
        )
        for statement, seconds in spent.most_common(8) if spent is not None else []:
            print(f"  {seconds / n * 1e6:6.1f} us a request  {statement}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--poll", action="store_true")
    parser.add_argument("--statements", action="store_true")
    uvloop.run(main(parser.parse_args()))  # the loop uvicorn runs the server on
