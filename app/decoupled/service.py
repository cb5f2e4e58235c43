"""Creating authentication requests and moving them through the state machine.

Flows (CIBA, headless, the QR login page) start requests here and learn of their results through
events; devices decide through ``decide``. Side effects of a move (push to phones, ping and push
deliveries to clients) are outbox messages written in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.decoupled import repository
from app.decoupled.handles import new_auth_req_id, request_id_of
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status, sources
from app.events import EventBus, request_topic, user_topic
from app.hashing import hash_secret, verify_secret
from app.outbox.models import OutboxMessage
from app.outbox.service import Outbox
from app.storage.db import Database
from app.storage.sql import SessionTx, Tx
from app.storage.types import utcnow

# What a move adds to the outbox, given the transaction, the request after the move and its new
# status (``pending`` for a new request). Features register builders: push to phones, ping and
# push deliveries to clients.
EffectBuilder = Callable[[Tx, AuthRequest, Status], Awaitable[Sequence[OutboxMessage]]]
# Work a caller does inside a move's transaction (minting tokens while consuming a request), so
# that it commits with the move or not at all.
Within = Callable[[AsyncSession, AuthRequest], Awaitable[None]]
# A check that runs first in the transaction that stores a new request, given its time.
Guard = Callable[[Tx, datetime], Awaitable[None]]
# Runs in the same write as a move that happened (evidence of a decision, say).
After = Callable[[Tx, AuthRequest], Awaitable[None]]


@dataclass(frozen=True)
class NewRequest:
    """What a flow asks for. ``user_id`` None means open: a device claims it by scanning its QR."""

    client_id: str
    mode: str
    scope: str
    expires_in: int
    user_id: str | None = None
    acr_values: str | None = None
    binding_message: str | None = None
    user_code_required: bool = False
    client_notification_token: str | None = None
    interval: int = 5
    extra: dict[str, Any] | None = None
    auth_req_id: str | None = None  # the flow's own, when it must know it before the commit
    authorization_details: list[dict[str, Any]] | None = None
    dpop_jkt: str | None = None


class RequestService:
    def __init__(self, db: Database, bus: EventBus, outbox: Outbox) -> None:
        self.db = db
        self.bus = bus
        self.outbox = outbox
        self.effects: list[EffectBuilder] = []

    async def _effects(self, tx: Tx, request: AuthRequest, status: Status) -> bool:
        messages = await self._messages(tx, request, status)
        await self.outbox.add(tx, messages)
        return bool(messages)

    async def _messages(self, tx: Tx, request: AuthRequest, status: Status) -> list[OutboxMessage]:
        return [m for build in self.effects for m in await build(tx, request, status)]

    async def create(
        self, new: NewRequest, *, guard: Guard | None = None
    ) -> tuple[AuthRequest, str]:
        """Store a pending request; returns it with its ``auth_req_id`` (kept only as a hash).
        ``guard`` runs first in the same transaction and may refuse (rate limits)."""
        auth_req_id = new.auth_req_id or new_auth_req_id()
        now = utcnow()
        row: dict[str, Any] = {
            "id": request_id_of(auth_req_id),
            "auth_req_id_hash": hash_secret(auth_req_id),
            "client_id": new.client_id,
            "user_id": new.user_id,
            "status": Status.PENDING.value,
            "mode": new.mode,
            "scope": new.scope,
            "acr_values": new.acr_values,
            "binding_message": new.binding_message,
            "user_code_required": bool(new.user_code_required),
            "client_notification_token": new.client_notification_token,
            "authorization_details": new.authorization_details,
            "dpop_jkt": new.dpop_jkt,
            "extra": new.extra or {},
            "interval": new.interval,
            "qr_secret": None if new.user_id else secrets.token_hex(32),
            "created_at": now,
            "expires_at": now + timedelta(seconds=new.expires_in),
            "claimed_at": None,
            "shown_at": None,
            "decided_at": None,
            "device_id": None,
            "decision_jwt": None,
            "acr": None,
            "amr": [],
            "last_polled_at": None,
            "consumed_at": None,
        }
        request = repository.ROWS.build(dict(row))
        db = self.db.sql
        # What the new request sets off (a push per device) is read before its write, not in
        # it: in the write's transaction such a read would see no more (on PostgreSQL, READ
        # COMMITTED, each statement sees what had committed when it began), and a write of one
        # statement is atomic alone: one round trip on PostgreSQL, without BEGIN and COMMIT.
        messages = await self._messages(db, request, Status.PENDING)
        if guard is None and not messages:
            await repository.insert(db, row)
        else:

            async def unit(tx: Tx) -> None:
                if guard is not None:
                    await guard(tx, now)
                await repository.insert(tx, row)
                await self.outbox.add(tx, messages)

            await db.write(unit)
        self._announce(request, "created")
        if messages:
            self.outbox.nudge()
        return request, auth_req_id

    async def get(self, request_id: str) -> AuthRequest | None:
        return await repository.get(self.db.sql, request_id)

    async def by_auth_req_id(self, auth_req_id: str) -> AuthRequest | None:
        request_id = request_id_of(auth_req_id)
        found = await repository.get(self.db.sql, request_id) if request_id else None
        if found is None or not verify_secret(auth_req_id, found.auth_req_id_hash):
            return None
        return found

    async def pending_for_user(
        self, user_id: str, now: datetime | None = None
    ) -> list[AuthRequest]:
        return await repository.pending_for_user(self.db.sql, user_id, now or utcnow())

    async def mark_shown(
        self,
        requests: list[AuthRequest],
        now: datetime | None = None,
        *,
        guard: Guard | None = None,
    ) -> None:
        """Note the first time a device was handed each of ``requests`` (the evidence's "shown");
        no write at all when every one was handed before and there is no ``guard`` (which runs
        first in the same write and may refuse it)."""
        fresh = [r.id for r in requests if r.shown_at is None]
        if not fresh and guard is None:
            return
        now = now or utcnow()

        async def unit(tx: Tx) -> None:
            if guard is not None:
                await guard(tx, now)
            await repository.mark_shown(tx, fresh, now)

        await self.db.sql.write(unit)

    async def transition(
        self,
        request_id: str,
        target: Status,
        values: dict[str, Any] | None = None,
        *,
        from_: Status | None = None,
        user_id: str | None = None,
        within: Within | None = None,
        guard: Guard | None = None,
        after: After | None = None,
        now: datetime | None = None,
    ) -> AuthRequest | None:
        """Move the request to ``target`` if it is in a state that allows it (only ``from_``,
        when given) and, with ``user_id``, belongs to that user. One conditional write: of
        racing callers one wins; the rest get None. ``within`` and the outbox effects of the move
        commit with it; ``guard`` runs first in its transaction and may refuse; ``after`` runs
        in it once the move happened."""
        now = now or utcnow()
        allowed = sources(target)
        if from_ is not None:
            assert from_ in allowed, f"no move from {from_} to {target}"
            allowed = (from_,)
        # Too late is too late: no decision or redemption after expiry.
        not_after = now if target in (Status.APPROVED, Status.DENIED, Status.CONSUMED) else None
        if within is not None:
            assert guard is None and after is None, "guards run in plain-SQL moves only"
            moved = await self._transition_with(
                request_id, target, values or {}, allowed, not_after, user_id, within
            )
            effects = moved is not None and moved[1]
            request = moved[0] if moved else None
        else:

            async def unit(tx: Tx) -> tuple[AuthRequest | None, bool]:
                if guard is not None:
                    await guard(tx, now)
                request = await repository.move(
                    tx, request_id, target, allowed, values or {},
                    not_after=not_after, user_id=user_id,
                )  # fmt: skip
                if request is not None and after is not None:
                    await after(tx, request)
                return request, request is not None and await self._effects(tx, request, target)

            request, effects = await self.db.sql.write(unit)
        if request is None:
            return None
        self._announce(request, target.value)
        if effects:
            self.outbox.nudge()
        return request

    async def _transition_with(
        self,
        request_id: str,
        target: Status,
        values: dict[str, Any],
        allowed: tuple[Status, ...],
        not_after: datetime | None,
        user_id: str | None,
        within: Within,
    ) -> tuple[AuthRequest, bool] | None:
        """A move whose caller adds ORM work (token minting) to its transaction."""
        conditions = [col(AuthRequest.id) == request_id, col(AuthRequest.status).in_(allowed)]
        if not_after is not None:
            conditions.append(col(AuthRequest.expires_at) > not_after)
        if user_id is not None:
            conditions.append(col(AuthRequest.user_id) == user_id)
        async with self.db.session() as session:
            result = await session.exec(
                update(AuthRequest).where(*conditions).values(status=target, **values)
            )
            if result.rowcount != 1:
                await session.rollback()
                return None
            request = await session.get(AuthRequest, request_id, populate_existing=True)
            assert request is not None
            await within(session, request)
            effects = await self._effects(SessionTx(session), request, target)
            await session.commit()
        return request, effects

    async def claim(
        self, request_id: str, user_id: str, now: datetime | None = None
    ) -> AuthRequest | None:
        """Give an open request to the user whose device scanned its QR. First scan wins."""
        now = now or utcnow()

        async def unit(tx: Tx) -> AuthRequest | None:
            if not await repository.claim(tx, request_id, user_id, now):
                return None
            return await repository.get(tx, request_id)

        request = await self.db.sql.write(unit)
        if request is not None:
            self._announce(request, "scanned")
        return request

    async def record_poll(self, request: AuthRequest, now: datetime) -> bool:
        """Note a poll of a pending request. False when it came sooner than ``interval`` after
        the previous one (or raced another poll): the request's interval then grows by 5 s
        (CIBA Core §11, ``slow_down``). Compare-and-set on ``last_polled_at``."""
        previous = request.last_polled_at
        on_time = previous is None or (now - previous).total_seconds() >= request.interval

        # Each statement atomic alone (one round trip each on PostgreSQL): the compare-and-set
        # decides; the slow-down after a lost race is a penalty, not part of the decision.
        db = self.db.sql
        won = await repository.record_poll(db, request.id, previous, now, on_time=on_time)
        if on_time and not won:  # another poll got there first: too fast
            await repository.slow_down(db, request.id, now)
            return False
        return on_time

    async def update_extra(self, request_id: str, **values: Any) -> None:
        """Record facts about a request that are not moves (a failed delivery, say)."""

        async def unit(tx: Tx) -> None:
            await repository.set_extra(tx, request_id, values)

        await self.db.sql.write(unit)

    async def expire_overdue(self, now: datetime | None = None) -> int:
        """The scheduled job: requests past ``expires_at`` become expired, one conditional write
        each, so their effects (the push-mode error delivery) fire exactly once."""
        now = now or utcnow()
        expired = 0
        for request_id in await repository.overdue(self.db.sql, sources(Status.EXPIRED), now):
            if await self.transition(request_id, Status.EXPIRED, now=now) is not None:
                expired += 1
        return expired

    def _announce(self, request: AuthRequest, what: str) -> None:
        metrics.login(request.mode, "started" if what == "created" else what)
        event = {"event": what, "request_id": request.id, "status": request.status}
        self.bus.publish(request_topic(request.id), event)
        if request.user_id:
            self.bus.publish(user_topic(request.user_id), event)
