"""A real uvicorn server on a free loopback port, in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy import update

from app.main import create_app
from app.server import uvicorn_options
from app.services import Services
from app.settings import Settings
from app.storage.tables import metadata

T = TypeVar("T")


@dataclass
class LiveServer:
    url: str
    settings: Settings
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def call(self, make: Callable[[Services], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        """Run a coroutine on the server's own event loop, as code inside the server would
        (its events reach the server's subscribers)."""
        return asyncio.run_coroutine_threadsafe(make(self.services), self.loop).result(timeout)

    def expire_rows(self, table: str) -> None:
        """Make every row of ``table`` past its ``expires_at``, as time passing would."""

        async def expire(services: Services) -> None:
            rows = metadata.tables[table]
            async with services.db.session() as session:
                past = datetime.now(UTC) - timedelta(seconds=1)
                await session.exec(update(rows).values(expires_at=past))  # type: ignore[call-overload]
                await session.commit()

        self.call(expire)

    @classmethod
    @contextmanager
    def start(cls, make_settings: Callable[[str], Settings]) -> Iterator[LiveServer]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = make_settings(url)
        app = create_app(settings)
        # The options `backchannel serve` runs with (WebSocket protocol, limits, timeouts).
        config = uvicorn.Config(app, lifespan="on", **uvicorn_options(settings))
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        try:
            yield cls(url=url, settings=settings, app=app, loop=server.servers[0].get_loop())
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
