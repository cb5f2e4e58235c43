"""The PostgreSQL event bus: events cross processes packed into few notifications, in order,
once each; a process's own come back to it and are not delivered twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import psycopg
import pytest

from app.events import MAX_NOTIFY_BYTES, PostgresBus
from app.storage.sql import libpq_url
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY is PostgreSQL's")

CONNINFO = libpq_url(PG_URL or "postgresql://")


async def drain(subscription, expected: int, timeout: float = 10) -> list[dict]:
    received: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(received) < expected and loop.time() < deadline:
        event = await subscription.get(timeout=deadline - loop.time())
        if event is not None:
            received.append(event)
    return received


@pytest.fixture
async def buses() -> AsyncIterator[tuple[PostgresBus, PostgresBus]]:
    a, b = PostgresBus(CONNINFO), PostgresBus(CONNINFO)
    await a.start()
    await b.start()
    assert a.connected and b.connected
    yield a, b
    await a.close()
    await b.close()


async def test_a_burst_reaches_the_other_process_in_order_and_once_here(buses):
    a, b = buses
    topic = f"test:{a.origin}"
    # Enough events, some large, that they need several notifications of one round trip (and
    # no more than a subscription holds).
    sent = [{"n": i, "pad": "x" * (3000 if i % 50 == 0 else 40)} for i in range(200)]
    events = [{"topic": topic, **event} for event in sent]
    async with b.subscribe([topic]) as there, a.subscribe([topic]) as here:
        for event in sent:
            a.publish(topic, event)
        assert await drain(there, len(events)) == events
        assert await drain(here, len(events)) == events
        # Nothing more arrives here: our own notifications came back and were skipped.
        assert await drain(here, 1, timeout=0.5) == []
        assert await drain(there, 1, timeout=0.2) == []


async def test_payloads_stay_under_the_limit_and_keep_the_order(buses):
    a, _ = buses
    messages = [json.dumps([f"t{i}", {"pad": "y" * (i * 37 % 4000)}]) for i in range(300)]
    payloads = a._payloads(messages)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_NOTIFY_BYTES for p in payloads)
    unpacked = [json.dumps(e) for p in payloads for e in json.loads(p)["events"]]
    assert unpacked == messages


async def test_a_malformed_notification_is_ignored_and_the_next_event_arrives(buses):
    a, b = buses
    topic = f"test:{a.origin}"
    async with b.subscribe([topic]) as there:
        async with await psycopg.AsyncConnection.connect(CONNINFO, autocommit=True) as conn:
            for junk in ("not json", '{"events": 5}', '{"events": [[1]]}', "{}"):
                await conn.execute("SELECT pg_notify(%s, %s)", (PostgresBus.CHANNEL, junk))
        a.publish(topic, {"after": "junk"})
        assert await drain(there, 1) == [{"topic": topic, "after": "junk"}]


async def test_an_event_too_large_for_a_notification_stays_in_this_process(buses):
    a, b = buses
    topic = f"test:{a.origin}"
    large = {"pad": "z" * MAX_NOTIFY_BYTES}
    async with b.subscribe([topic]) as there, a.subscribe([topic]) as here:
        a.publish(topic, large)
        a.publish(topic, {"small": 1})
        small = {"topic": topic, "small": 1}
        assert await drain(here, 2) == [{"topic": topic, **large}, small]
        assert await drain(there, 1) == [small]
