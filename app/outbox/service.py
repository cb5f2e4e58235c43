"""Delivering outbox messages: claim, hand to the kind's handler, record the outcome.

Claiming is one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the database write
lock on SQLite) that leases rows to this process, so several replicas never deliver one row at
the same time. The lease is short and renewed while the delivery runs (app/outbox/dispatcher.py):
a process that dies mid-delivery loses its rows to another within ``LEASE`` seconds, and that
one sends them again. Delivery is therefore *at least once*: every delivery carries a stable id
(:func:`delivery_id`, sent as the ``Backchannel-Delivery-Id`` header) so a receiver can drop a
repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from app.logging import redact
from app.outbox import repository
from app.outbox.gate import Defer, EndpointGate
from app.outbox.models import Delivery, OutboxMessage
from app.storage.db import Database
from app.storage.sql import Tx
from app.storage.types import utcnow

log = logging.getLogger("backchannel.outbox")

# Short, and renewed every RENEW_EVERY while the delivery runs: a dead process's rows are taken
# over within seconds, a live one never loses a slow delivery to another replica.
LEASE = timedelta(seconds=10)
RENEW_EVERY = 3.0
# A handler gets at most this long; the endpoint's own timeout (10 s for client notifications)
# ends a slow POST well before. This only bounds a handler that stalls somewhere else.
DEADLINE_SECONDS = 30.0

__all__ = ["Defer", "GiveUp", "Outbox", "Retry", "delivery_id", "new_message"]


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

_delivering: ContextVar[str] = ContextVar("delivering")


def delivery_id() -> str:
    """The id of the message the running handler delivers: the same on every retry and on a
    takeover by another process, so the receiver can recognise a repeat."""
    return _delivering.get()


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
        *,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 20,
        endpoint_concurrency: int = 8,
    ) -> None:
        self.db = db
        self.handlers: dict[str, Handler] = {}
        self.dead_handlers: dict[str, DeadHandler] = {}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.gate = EndpointGate(endpoint_concurrency)
        self.on_nudge: Callable[[], None] = lambda: None  # set by the dispatcher
        self.in_flight = 0  # deliveries running in this process (for /metrics)

    def register(self, kind: str, handler: Handler, on_dead: DeadHandler | None = None) -> None:
        self.handlers[kind] = handler
        if on_dead is not None:
            self.dead_handlers[kind] = on_dead

    def nudge(self) -> None:
        """Tell this process's dispatcher there is work; call after committing new messages.
        Other replicas are not told (no NOTIFY per commit, no empty claim on each of them):
        the committing process delivers, and when it is saturated or dies the others find
        the rows at their next look."""
        self.on_nudge()

    @staticmethod
    async def add(tx: Tx, messages: list[OutboxMessage]) -> None:
        """Stage messages in the caller's transaction: they exist if and only if it commits."""
        for message in messages:
            await repository.insert(tx, message)

    def backoff(self, attempts: int) -> float:
        """Exponential with full jitter, capped: a failing endpoint is not hammered in step."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    async def any_due(self) -> bool:
        return await repository.any_due(self.db.sql, utcnow())

    async def claim(self, limit: int) -> list[OutboxMessage]:
        now = utcnow()

        async def unit(tx: Tx) -> list[OutboxMessage]:
            return await repository.claim(tx, now, now + LEASE, limit)

        # A lease lost to a power failure costs a repeated delivery, which the outbox allows.
        return await self.db.sql.write(unit, durable=False)

    async def renew(self, messages: list[OutboxMessage]) -> list[str]:
        lease = utcnow() + LEASE

        async def unit(tx: Tx) -> list[str]:
            return await repository.renew(tx, messages, lease)

        return await self.db.sql.write(unit)

    async def deliver(self, message: OutboxMessage) -> None:
        """Run the kind's handler on one claimed message and record what came of it."""
        handler = self.handlers.get(message.kind)
        error: str | None = None
        delay: float | None = None
        _delivering.set(message.id)
        self.in_flight += 1
        try:
            if handler is None:
                raise GiveUp(f"no handler for {message.kind}")
            async with asyncio.timeout(DEADLINE_SECONDS):
                await handler(message.payload)
            outcome = Delivery.DONE
        except Defer as exc:
            outcome, error, delay = Delivery.PENDING, str(exc), exc.delay
        except GiveUp as exc:
            outcome, error = Delivery.DEAD, str(exc) or type(exc).__name__
        except Exception as exc:  # Retry, or anything unexpected: try again later
            outcome, error = Delivery.PENDING, str(exc) or type(exc).__name__
            if not isinstance(exc, Retry):
                log.exception("outbox handler failed", extra={"kind": message.kind})
        finally:
            self.in_flight -= 1
        await self._record(message, outcome, error, delay)

    async def _record(
        self, message: OutboxMessage, outcome: str, error: str | None, deferred: float | None
    ) -> None:
        now = utcnow()
        attempts = message.attempts - 1 if deferred is not None else message.attempts
        changes: dict[str, Any] = {
            "attempts": attempts,
            "claimed_until": None,
            # Errors can quote what was sent (tokens in a push): only their redacted form is kept.
            "last_error": redact(error)[:1000] if error else None,
        }
        if outcome == Delivery.PENDING:
            wait = deferred if deferred is not None else self.backoff(attempts)
            retry_at = now + timedelta(seconds=wait)
            changes["next_attempt_at"] = retry_at
            out_of_time = message.give_up_at is not None and retry_at >= message.give_up_at
            if out_of_time or attempts >= self.max_attempts:
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
        if deferred is None or outcome == Delivery.DEAD:
            log.info(
                "outbox delivery",
                extra={
                    "kind": message.kind,
                    "outcome": outcome,
                    "attempts": attempts,
                    "error": error,
                    "delivery_id": message.id,
                },
            )
