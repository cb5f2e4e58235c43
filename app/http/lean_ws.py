"""The WebSocket protocol ``backchannel serve`` runs: uvicorn's wsproto protocol with lighter
parts for waiting, for a process that holds thousands of idle sockets (docs/performance.md).

uvicorn gives every socket an ``asyncio.Queue`` for the events it hands the app and an
``asyncio.Event`` for write flow control. Each keeps empty ``collections.deque`` objects for its
waiters (about 760 bytes each: four in the queue, one in the event), 3.8 KB of an idle socket's
20. The protocol only puts, gets, sets, clears and waits; the classes below do exactly that with
a list made when something waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol


class _Waiters:
    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        waiters = self._waiters
        waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in waiters:
                waiters.remove(waiter)

    def _wake(self, everyone: bool) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
                if not everyone:
                    return


class EventQueue(_Waiters):
    """What the protocol asks of its ``asyncio.Queue``: unbounded, first in first out."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake(everyone=False)

    async def get(self) -> Any:
        while not self._items:
            await self._wait()
        item = self._items.pop(0)
        if self._items:
            self._wake(everyone=False)  # a getter woken with nothing left for it waits again
        return item

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items


class Flag(_Waiters):
    """What the protocol asks of its ``asyncio.Event``."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        super().__init__()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        self._wake(everyone=True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            await self._wait()
        return True


class LeanWSProtocol(WSProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = EventQueue()  # type: ignore[assignment]  # the same interface, lighter
        writable = Flag()
        writable.set()
        self.writable = writable  # type: ignore[assignment]
