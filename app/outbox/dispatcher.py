"""The outbox dispatcher: deliveries run continuously, each on its own, under one overall cap.

There are no batches: a delivery starts the moment it is claimed and settles on its own, so a
slow endpoint holds one slot, never the others' turn. A nudge (a commit in this process that
staged messages) claims due rows at once, up to the free slots; a finishing delivery frees its
slot and, if the last claim filled every slot, claims more. Nudges stay in their process: the
replica that committed the change delivers it (no NOTIFY per commit, no empty claim on every
other replica). Between nudges the dispatcher looks for retries that fell due, and for rows a
saturated or dead replica left, every ``interval`` seconds with a read (no write while idle).
While deliveries run, their leases are renewed every ``RENEW_EVERY`` seconds so no other
replica takes over a delivery that is merely slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.outbox.models import OutboxMessage
from app.outbox.service import RENEW_EVERY, Outbox
from app.storage import outage

log = logging.getLogger("backchannel.outbox")


class Dispatcher:
    def __init__(self, outbox: Outbox, *, concurrency: int = 64, interval: float = 2.0) -> None:
        self.outbox = outbox
        self.concurrency = concurrency
        self.interval = interval
        self.running: dict[asyncio.Task[None], OutboxMessage] = {}
        self._wake = asyncio.Event()
        self._nudged = False  # a commit announced work: claim without looking first
        self._saturated = False  # the last claim filled every slot: more may be due
        outbox.on_nudge = self.nudge

    def nudge(self) -> None:
        self._nudged = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; starts with whatever a restart left due."""
        renewer = asyncio.create_task(self._renew_leases())
        self._nudged = True
        try:
            while True:
                self._wake.clear()
                await self._guarded_fill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
        finally:
            for task in [renewer, *self.running]:
                task.cancel()
            await asyncio.gather(renewer, *self.running, return_exceptions=True)

    async def _guarded_fill(self) -> None:
        try:
            await self.fill()
        except Exception as exc:  # retried at the next interval
            if outage.is_unavailable(exc):
                outage.report(exc)
            else:
                log.exception("outbox dispatch failed; retrying")

    async def fill(self) -> None:
        """Claim due messages into the free slots and start each delivery."""
        nudged, self._nudged = self._nudged, False
        if not nudged and not self._saturated and not await self.outbox.any_due():
            return
        while (free := self.concurrency - len(self.running)) > 0:
            batch = await self.outbox.claim(free)
            for message in batch:
                task = asyncio.create_task(self.outbox.deliver(message))
                self.running[task] = message
                task.add_done_callback(self._finished)
            if len(batch) < free:
                self._saturated = False
                return
        self._saturated = True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox delivery crashed", exc_info=task.exception())
        if self._saturated:
            self._wake.set()  # a slot is free and more may be waiting

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            messages = list(self.running.values())
            if not messages:
                continue
            try:
                await self.outbox.renew(messages)
            except Exception as exc:  # the next renewal may work; the leases last longer
                if outage.is_unavailable(exc):
                    outage.report(exc)
                else:
                    log.exception("outbox lease renewal failed")
