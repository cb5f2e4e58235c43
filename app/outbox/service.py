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

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.events import OUTBOX_TOPIC, EventBus
from app.logging import redact
from app.outbox.models import Delivery, OutboxMessage
from app.storage.db import Database, advisory_lock
from app.storage.types import utcnow

log = logging.getLogger("backchannel.outbox")

LEASE = timedelta(seconds=60)
# A handler gets at most this long (well inside the lease), so a slow or stalling endpoint can
# neither hold up the rest of a batch for ever nor outlive its lease and be delivered twice.
DEADLINE_SECONDS = 30.0
BATCH = 20
_CLAIM_LOCK_ID = 0x6F757462  # "outb"


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
    return OutboxMessage(id=uuid.uuid4().hex, kind=kind, payload=payload, give_up_at=give_up_at)


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
    def add(session: AsyncSession, messages: list[OutboxMessage]) -> None:
        """Stage messages in the caller's transaction: they exist if and only if it commits."""
        for message in messages:
            session.add(message)

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
        async with self.db.session() as session:
            if not self.db.is_postgres:  # SQLite: hold the write lock from the read on
                await advisory_lock(session, _CLAIM_LOCK_ID)
            query = (
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.status) == Delivery.PENDING,
                    col(OutboxMessage.next_attempt_at) <= now,
                    (col(OutboxMessage.claimed_until).is_(None))
                    | (col(OutboxMessage.claimed_until) < now),
                )
                .order_by(col(OutboxMessage.next_attempt_at))
                .limit(BATCH)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.exec(query)).all())
            for row in rows:
                row.claimed_until = now + LEASE
                session.add(row)
            await session.commit()
            return rows

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
        async with self.db.session() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None or row.claimed_until != message.claimed_until:
                return  # our lease ran out and another delivery owns the row now
            row.attempts += 1
            row.claimed_until = None
            # Errors can quote what was sent (tokens in a push): only their redacted form is kept.
            row.last_error = redact(error)[:1000] if error else None
            if outcome == Delivery.PENDING:
                row.next_attempt_at = now + timedelta(seconds=self.backoff(row.attempts))
                out_of_time = row.give_up_at is not None and row.next_attempt_at >= row.give_up_at
                if out_of_time or row.attempts >= self.max_attempts:
                    outcome = Delivery.DEAD
            row.status = outcome
            if outcome == Delivery.DONE:
                row.delivered_at = now
            if outcome != Delivery.PENDING and SEALED in row.payload:
                row.payload = {k: v for k, v in row.payload.items() if k != SEALED}
            session.add(row)
            await session.commit()
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
                "attempts": row.attempts,
                "error": error,
            },
        )
