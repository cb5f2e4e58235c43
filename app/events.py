"""Publish/subscribe for request transitions, so waiting code never polls the database.

The interface is deliberately narrow (publish a dict on a topic; subscribe to topics) so a
cross-replica implementation over PostgreSQL LISTEN/NOTIFY can replace the in-process one.
Events are hints that something changed: a subscriber re-reads the state it cares about from the
database, so a missed or duplicated event costs a little latency, never correctness.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Protocol

Event = dict[str, Any]


class Subscription:
    """Events for the topics subscribed to, in order. Bounded: a slow consumer loses the oldest
    events rather than growing without limit (it re-reads state anyway)."""

    def __init__(self, maxsize: int = 256) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)

    def _put(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` seconds pass first."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class EventBus(Protocol):
    def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(self, topics: Iterable[str]) -> Any:
        """An async context manager yielding a Subscription."""
        ...


class InProcessBus:
    """Delivers events to subscribers in this process. Call from the event loop's thread."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def publish(self, topic: str, event: Event) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            subscription._put({"topic": topic, **event})

    @asynccontextmanager
    async def subscribe(self, topics: Iterable[str]) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        names = list(topics)
        for name in names:
            self._subscribers[name].add(subscription)
        try:
            yield subscription
        finally:
            for name in names:
                self._subscribers[name].discard(subscription)
                if not self._subscribers[name]:
                    del self._subscribers[name]


def request_topic(request_id: str) -> str:
    return f"request:{request_id}"


def user_topic(user_id: str) -> str:
    return f"user:{user_id}"


OUTBOX_TOPIC = "outbox"
