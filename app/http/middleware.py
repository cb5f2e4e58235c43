"""The one middleware every request passes: refuse NUL in the URL, and a lean access log.

Pure ASGI (no ``BaseHTTPMiddleware``, which wraps every request in a task group and a streamed
copy of the response): it only looks at the scope and the response's status.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidRequest
from app.http.errors import render

ACCESS_LOGGER = "backchannel.access"
log = logging.getLogger(ACCESS_LOGGER)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # A NUL in a path or query parameter would reach the database (PostgreSQL refuses it).
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            if scope["type"] == "http":
                response = render(InvalidRequest("the URL must not contain NUL characters"))
                await response(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if not self.access_log or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _access(scope, status[0], started)


def _access(scope: Scope, status: int, started: float) -> None:
    # The path only: query strings can carry credentials; paths here never do.
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s %s %d %.1fms",
            scope["method"],
            scope["path"],
            status,
            (time.perf_counter() - started) * 1000,
        )
