"""The demo call centre's notification endpoint (CIBA ping and push): the server POSTs to
``/demo/notify`` as it would to any client, and the console's page collects what arrived for its
``client_notification_token``. Kept in memory: the demo runs as one process."""

from __future__ import annotations

import asyncio
from typing import Any

KEEP = 256  # notifications held for pages that have not collected them yet


class Mailbox:
    def __init__(self) -> None:
        self.arrived: dict[str, dict[str, Any]] = {}
        self.waiting: dict[str, asyncio.Event] = {}

    def deliver(self, token: str, body: dict[str, Any]) -> None:
        if len(self.arrived) >= KEEP:
            self.arrived.pop(next(iter(self.arrived)))
        self.arrived[token] = body
        self.waiting.setdefault(token, asyncio.Event()).set()

    async def collect(self, token: str, timeout: float) -> dict[str, Any] | None:
        if token not in self.arrived:
            event = self.waiting.setdefault(token, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return None
            finally:
                self.waiting.pop(token, None)
        return self.arrived.pop(token, None)
