"""How long a client may take to send us a request, so half-sent requests cannot hold
connections open (slowloris): uvicorn bounds only idle keep-alive connections.

A connection gets ``header_timeout`` seconds from its opening (or from the previous response)
until the request's headers are complete, then ``body_timeout`` seconds for the body; a client
slower than that is disconnected. Responses are not bounded (long polls and event streams stay
open as long as they need). Built on uvicorn's httptools protocol, the one it picks by default.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def bounded_http_protocol(header_timeout: float, body_timeout: float) -> type[asyncio.Protocol]:
    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _read_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._expect(header_timeout)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._expect(body_timeout)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._stop()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self.pipeline:
                self._expect(header_timeout)  # the next request on this connection

        def handle_websocket_upgrade(self) -> None:
            self._stop()  # a WebSocket has its own pings (ws_ping_interval)
            super().handle_websocket_upgrade()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop()
            super().connection_lost(exc)

        def _expect(self, seconds: float) -> None:
            self._stop()
            self._read_timer = self.loop.call_later(seconds, self._too_slow)

        def _stop(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _too_slow(self) -> None:
            self._read_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedHttpToolsProtocol


class SettingsBoundedProtocol(HttpToolsProtocol):
    """The protocol ``backchannel serve`` runs: the timeouts of this process's settings. A
    class at module level, so that uvicorn can hand it to worker processes (``--workers``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from app.settings import get_settings

        settings = get_settings()
        bounded = _bounded(settings.http_header_timeout, settings.http_body_timeout)
        return bounded(*args, **kwargs)


@functools.cache
def _bounded(header_timeout: float, body_timeout: float) -> type[asyncio.Protocol]:
    return bounded_http_protocol(header_timeout, body_timeout)
