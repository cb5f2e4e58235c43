"""A loopback HTTP server for the other side of outbound calls (jwks_uri, notifications).

It records every request and answers from a queue of scripted responses (or a default).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_server import JsonHandler, serve


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    responses: list[tuple[int, Any]] = field(default_factory=list)
    default: tuple[int, Any] = (200, {})
    # Seconds to hold each request before answering: a slow notification endpoint.
    delay: float = 0.0

    def next_response(self) -> tuple[int, Any]:
        return self.responses.pop(0) if self.responses else self.default

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[Receiver]:
        receiver = cls(url="")

        class Handler(JsonHandler):
            def _handle(self) -> None:
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Recorded(self.command, self.path, headers, body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.reply(*receiver.next_response())

            do_GET = do_POST = _handle

        with serve(Handler) as url:
            receiver.url = url
            yield receiver
