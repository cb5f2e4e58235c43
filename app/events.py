"""Publish/subscribe for request transitions, so waiting code never polls the database.

The interface is deliberately narrow (publish a dict on a topic; subscribe to topics):
``InProcessBus`` serves one process (the SQLite default), ``PostgresBus`` carries events between
replicas over PostgreSQL LISTEN/NOTIFY.
Events are hints that something changed: a subscriber re-reads the state it cares about from the
database, so a missed or duplicated event costs a little latency, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

from app import metrics

if TYPE_CHECKING:  # imported when a PostgresBus connects: a SQLite server never loads psycopg
    import psycopg

log = logging.getLogger("backchannel.events")

MAX_NOTIFY_BYTES = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
NOTIFY_BATCH = 200  # events sent in one round trip, at most

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


class PostgresBus:
    """Events across replicas over PostgreSQL LISTEN/NOTIFY (DESIGN.md "Scale out").

    ``publish`` delivers to this process at once and queues a NOTIFY; a listening connection
    delivers the other replicas' events here. A lost connection is re-opened; events missed
    meanwhile cost waiting code a little latency (it re-reads the state on its next wake-up),
    never correctness.
    """

    CHANNEL = "backchannel_events"

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.local = InProcessBus()
        self.origin = uuid.uuid4().hex
        # A notification is '{"origin": "…", "events": [[topic, event], …]}': as many events
        # as fit in one payload (PostgreSQL's work is per notification, and two events a
        # request add up), and this process's own, which come back to it, are known by their
        # start without being parsed.
        self._head = f'{{"origin": "{self.origin}", "events": ['
        self._room = MAX_NOTIFY_BYTES - len(self._head) - len("]}")  # for the events
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=10000)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._forever(self._listen)),
            asyncio.create_task(self._forever(self._send)),
        ]
        with contextlib.suppress(TimeoutError):  # not fatal: it keeps trying in the background
            await asyncio.wait_for(self._listening.wait(), 10)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish(self, topic: str, event: Event) -> None:
        self.local.publish(topic, event)
        message = json.dumps([topic, event])  # ASCII: json.dumps escapes the rest
        if len(message) > self._room:
            log.warning("event too large for NOTIFY; delivered in this process only")
            return
        with contextlib.suppress(asyncio.QueueFull):  # a hint, not a record: drop when swamped
            self._outgoing.put_nowait(message)

    def subscribe(self, topics: Iterable[str]) -> Any:
        return self.local.subscribe(topics)

    @property
    def connected(self) -> bool:
        """The LISTEN connection is up (for /readyz): other replicas' events reach us."""
        return self._listening.is_set()

    async def _listen(self) -> None:
        async with await self._connect() as conn:
            await conn.execute(f"LISTEN {self.CHANNEL}")
            self._listening.set()
            try:
                await self._receive(conn)
            finally:
                self._listening.clear()

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for notify in conn.notifies():
            if notify.payload.startswith(self._head):
                continue  # our own: delivered here when published
            try:
                events = json.loads(notify.payload)["events"]
                delivered = [(str(topic), event) for topic, event in events]
            except (ValueError, TypeError, KeyError):
                log.warning("ignored a malformed notification on %s", self.CHANNEL)
                continue
            for topic, event in delivered:
                if isinstance(event, dict):
                    self.local.publish(topic, event)

    async def _send(self) -> None:
        async with await self._connect() as conn:
            while True:
                # Whatever queued up while the last round trip ran goes in the next one: one
                # statement, in order, however busy the process (two events per request).
                messages = [await self._outgoing.get()]
                while len(messages) < NOTIFY_BATCH and not self._outgoing.empty():
                    messages.append(self._outgoing.get_nowait())
                await conn.execute(
                    "SELECT pg_notify(%s, m) FROM unnest(%s::text[]) WITH ORDINALITY AS u(m, n) "
                    "ORDER BY n",
                    (self.CHANNEL, self._payloads(messages)),
                )

    def _payloads(self, messages: list[str]) -> list[str]:
        """The events, in order, in as few payloads under the size limit as they fit."""
        batches: list[list[str]] = [[]]
        size = 0
        for message in messages:
            length = len(message) + 1  # and a comma (one too many: a byte to spare)
            if batches[-1] and size + length > self._room:
                batches.append([])
                size = 0
            batches[-1].append(message)
            size += length
        return [self._head + ",".join(batch) + "]}" for batch in batches]

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        # TCP keepalives: a link that dies silently (failover, NAT) is noticed within a minute
        # and the connection re-opened, instead of LISTENing on a dead socket for ever.
        return await psycopg.AsyncConnection.connect(
            self.conninfo,
            autocommit=True,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )

    async def _forever(self, run: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.LISTENER_RECONNECTS.inc()
                log.warning("event bus connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)
