"""The one middleware every request passes: refuse NUL in the URL, answer what no handler took
(keeping the connection), count it for /metrics, and a lean access log.

Pure ASGI (no ``BaseHTTPMiddleware``, which wraps every request in a task group and a streamed
copy of the response): it only looks at the scope and the response's status.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import InvalidRequest
from app.http.errors import render, unexpected

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
        if not _path_is_utf8(scope.get("raw_path")):
            if scope["type"] == "http":
                message = "the URL path must be percent-encoded UTF-8 (RFC 3986 §2.5)"
                await render(InvalidRequest(message))(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if status[0]:
                raise  # the answer is under way: nothing better to send
            await unexpected(exc, scope["path"])(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            _count(scope, status[0] or 500, elapsed)
            if self.access_log:
                _access(scope, status[0] or 500, elapsed)


def _path_is_utf8(raw_path: bytes | None) -> bool:
    """The server decodes a path leniently (an undecodable byte becomes U+FFFD), so a path
    parameter would carry text the client never sent into lookups, logs and JWT comparisons:
    refuse such a path once, here, for every route."""
    if not raw_path or b"%" not in raw_path:
        return True
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _count(scope: Scope, status: int, elapsed: float) -> None:
    """One counter increment and one histogram observation, labelled by the route's template
    (``/admin/clients/{client_id}``), never the raw path: the label sets stay bounded."""
    route = scope.get("route")
    key = (getattr(route, "path", None) or "unmatched", scope["method"], status)
    children = _children.get(key)
    if children is None:  # once per route, method and status: labels() takes a lock
        children = _children[key] = (
            metrics.REQUESTS.labels(key[0], key[1], str(status)),
            metrics.LATENCY.labels(key[0]),
        )
    children[0].inc()
    children[1].observe(elapsed)


_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _access(scope: Scope, status: int, elapsed: float) -> None:
    # The path only: query strings can carry credentials; paths here never do.
    if log.isEnabledFor(logging.INFO):
        log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed * 1000)
