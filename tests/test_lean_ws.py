"""The WebSocket protocol's lighter queue and flag (app/http/lean_ws.py) keep the semantics
uvicorn relies on: first in first out, a waiting reader woken by a put, a cancelled reader
skipped, every writer woken by set. The sockets themselves run through them in every headless
and device-stream test (a live server)."""

from __future__ import annotations

import asyncio

from app.http.lean_ws import EventQueue, Flag
from app.server import uvicorn_options
from app.settings import Settings


async def test_the_queue_hands_items_out_in_order_to_waiting_readers():
    queue = EventQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert queue.empty() and not first.done()
    queue.put_nowait("a")
    queue.put_nowait("b")
    queue.put_nowait("c")
    assert await asyncio.wait_for(asyncio.gather(first, second), 1) == ["a", "b"]
    assert queue.qsize() == 1 and await queue.get() == "c" and queue.empty()


async def test_a_cancelled_reader_does_not_swallow_an_item():
    queue = EventQueue()
    gone = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    gone.cancel()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("x")
    assert await asyncio.wait_for(waiting, 1) == "x"
    assert gone.cancelled()


async def test_the_flag_wakes_every_waiter_and_stays_set_until_cleared():
    flag = Flag()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters) and not flag.is_set()
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    assert await flag.wait() is True
    flag.clear()
    late = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    assert not late.done()
    flag.set()
    assert await asyncio.wait_for(late, 1) is True


def test_the_server_runs_the_lean_protocol():
    assert uvicorn_options(Settings())["ws"] == "app.http.lean_ws:LeanWSProtocol"
