"""Delivering outbox messages: claim, hand to the kind's handler, record the outcome.

Claiming is one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write
lock on SQLite) that leases rows to this process, so several replicas never deliver one row at
the same time. A process that dies mid-delivery loses its lease and another one retries the row.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from app.events import OUTBOX_TOPIC, EventBus
from app.logging import redact
from app.outbox import repository
from app.outbox.models import Delivery, OutboxMessage
from app.storage.db import Database
from app.storage.sql import Tx
from app.storage.types import utcnow

log = logging.getLogger("backchannel.outbox")

LEASE = timedelta(seconds=60)
# A handler gets at most this long (well inside the lease), so a slow or stalling endpoint can
# neither hold up the rest of a batch for ever nor outlive its lease and be delivered twice.
DEADLINE_SECONDS = 30.0
BATCH = 20


class Retry(Exception):
    """A transient failure: try again later (network error, 5xx, FCM UNAVAILABLE)."""


class GiveUp(Exception):
    """A permanent failure: record it and stop (401/403 from a client, a dead push token)."""


Handler = Callable[[dict[str, Any]], Awaitable[None]]
# Called once when a message of the kind is given up on (dead), with its payload and last error.
DeadHandler = Callable[[dict[str, Any], str], Awaitable[None]]

# Payload member holding what must not outlive the delivery (tokens pushed to a client): erased
# from the row once it is delivered or dead.
SEALED = "sealed"


def new_message(
    kind: str, payload: dict[str, Any], give_up_at: datetime | None = None
) -> OutboxMessage:
    now = utcnow()
    return OutboxMessage.model_construct(
        id=uuid.uuid4().hex,
        kind=kind,
        payload=payload,
        status=Delivery.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        claimed_until=None,
        give_up_at=give_up_at,
        last_error=None,
        created_at=now,
        delivered_at=None,
    )


class Outbox:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 20,
    ) -> None:
        self.db = db
        self.bus = bus
        self.handlers: dict[str, Handler] = {}
        self.dead_handlers: dict[str, DeadHandler] = {}
        self.base_delay = base_delay
        self._draining = asyncio.Lock()  # the scheduler job and the nudged worker take turns
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def register(self, kind: str, handler: Handler, on_dead: DeadHandler | None = None) -> None:
        self.handlers[kind] = handler
        if on_dead is not None:
            self.dead_handlers[kind] = on_dead

    def nudge(self) -> None:
        """Tell the dispatcher there is work; call after committing new messages."""
        self.bus.publish(OUTBOX_TOPIC, {})

    @staticmethod
    async def add(tx: Tx, messages: list[OutboxMessage]) -> None:
        """Stage messages in the caller's transaction: they exist if and only if it commits."""
        for message in messages:
            await repository.insert(tx, message)

    def backoff(self, attempts: int) -> float:
        """Exponential with full jitter, capped: a failing endpoint is not hammered in step."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    async def drain(self, now: datetime | None = None) -> int:
        """Deliver every message that is due; returns how many were attempted. The messages of a
        batch go out concurrently: one slow endpoint does not delay the others."""
        attempted = 0
        async with self._draining:
            while True:
                batch = await self._claim(now or utcnow())
                await asyncio.gather(*(self._deliver(message) for message in batch))
                attempted += len(batch)
                if len(batch) < BATCH:
                    return attempted

    async def _claim(self, now: datetime) -> list[OutboxMessage]:
        async def unit(tx: Tx) -> list[OutboxMessage]:
            return await repository.claim(tx, now, now + LEASE, BATCH)

        # A lease lost to a power failure costs a repeated delivery, which the outbox allows.
        return await self.db.sql.write(unit, durable=False)

    async def _deliver(self, message: OutboxMessage) -> None:
        handler = self.handlers.get(message.kind)
        outcome: str
        error: str | None = None
        try:
            if handler is None:
                raise GiveUp(f"no handler for {message.kind}")
            async with asyncio.timeout(DEADLINE_SECONDS):
                await handler(message.payload)
            outcome = Delivery.DONE
        except GiveUp as exc:
            outcome, error = Delivery.DEAD, str(exc) or type(exc).__name__
        except Exception as exc:  # Retry, or anything unexpected: try again later
            outcome, error = Delivery.PENDING, str(exc) or type(exc).__name__
            if not isinstance(exc, Retry):
                log.exception("outbox handler failed", extra={"kind": message.kind})
        await self._record(message, outcome, error)

    async def _record(self, message: OutboxMessage, outcome: str, error: str | None) -> None:
        now = utcnow()
        changes: dict[str, Any] = {
            "attempts": message.attempts + 1,
            "claimed_until": None,
            # Errors can quote what was sent (tokens in a push): only their redacted form is kept.
            "last_error": redact(error)[:1000] if error else None,
        }
        if outcome == Delivery.PENDING:
            retry_at = now + timedelta(seconds=self.backoff(changes["attempts"]))
            changes["next_attempt_at"] = retry_at
            out_of_time = message.give_up_at is not None and retry_at >= message.give_up_at
            if out_of_time or changes["attempts"] >= self.max_attempts:
                outcome = Delivery.DEAD
        changes["status"] = outcome
        if outcome == Delivery.DONE:
            changes["delivered_at"] = now
        if outcome != Delivery.PENDING and SEALED in message.payload:
            changes["payload"] = {k: v for k, v in message.payload.items() if k != SEALED}

        async def unit(tx: Tx) -> bool:
            return await repository.settle(tx, message, changes)

        if not await self.db.sql.write(unit, durable=False):  # lost: delivered again
            return  # our lease ran out and another delivery owns the row now
        on_dead = self.dead_handlers.get(message.kind)
        if outcome == Delivery.DEAD and on_dead is not None:
            try:
                await on_dead(message.payload, error or "")
            except Exception:
                log.exception("outbox dead handler failed", extra={"kind": message.kind})
        log.info(
            "outbox delivery",
            extra={
                "kind": message.kind,
                "outcome": outcome,
                "attempts": changes["attempts"],
                "error": error,
            },
        )
