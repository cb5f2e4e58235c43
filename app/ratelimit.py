"""Budgets for callers we cannot hold to account: counted in the database, per bucket.

The per-client and per-user limits of authenticated clients are counted from the requests table
(app/ciba/limits.py). What anonymous callers may do — a login page's tries per browser, per
network address and per page, wrong user codes per (client, user) — is counted here instead, so
that strangers spend their own budgets and never the one a client relies on. Every replica
sees the same counts. Each row carries the end of its own window, so one purge serves budgets of
any length. A budget check and its spending are two statements: two racing callers may both pass
at the edge, which a limit against abuse can afford.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, delete, func
from sqlmodel import Field, SQLModel, col, select

from app.errors import TooManyRequests
from app.hashing import hash_secret
from app.storage.db import Database
from app.storage.types import UTCDateTime, utcnow


class RateEvent(SQLModel, table=True):
    """One counted event in ``bucket``, counting until ``expires_at`` (the end of its window)."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_expires", "bucket", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` events per ``window`` seconds for ``key`` (hashed: buckets may be
    built from cookies or addresses, which the table need not hold in the clear)."""

    kind: str
    key: str
    limit: int
    window: float
    refusal: str  # what the caller is told when the budget is spent

    @property
    def bucket(self) -> str:
        return f"{self.kind}:{hash_secret(self.key)}"


async def check(db: Database, budgets: Sequence[Budget]) -> None:
    """Raise ``TooManyRequests`` (with ``Retry-After``) for the first spent budget."""
    now = utcnow()
    async with db.session() as session:
        for budget in budgets:
            query = select(func.count(), func.min(RateEvent.expires_at)).where(
                col(RateEvent.bucket) == budget.bucket, col(RateEvent.expires_at) > now
            )
            count, first_free = (await session.exec(query)).one()
            if count >= budget.limit:
                raise TooManyRequests(
                    budget.refusal, retry_after=math.ceil((first_free - now).total_seconds())
                )


async def spend(db: Database, budgets: Sequence[Budget]) -> None:
    """Count one event against each budget."""
    now = utcnow()
    async with db.session() as session:
        for budget in budgets:
            expires = now + timedelta(seconds=budget.window)
            session.add(RateEvent(bucket=budget.bucket, expires_at=expires))
        await session.commit()


async def count(db: Database, budget: Budget) -> int:
    async with db.session() as session:
        query = select(func.count()).where(
            col(RateEvent.bucket) == budget.bucket, col(RateEvent.expires_at) > utcnow()
        )
        return int((await session.exec(query)).one())


async def forget(db: Database, budget: Budget) -> None:
    """Start ``budget`` afresh (a right answer clears the wrong ones before it)."""
    async with db.session() as session:
        await session.exec(delete(RateEvent).where(col(RateEvent.bucket) == budget.bucket))
        await session.commit()


async def purge_expired(db: Database, now: datetime | None = None) -> int:
    async with db.session() as session:
        result = await session.exec(
            delete(RateEvent).where(col(RateEvent.expires_at) <= (now or utcnow()))
        )
        await session.commit()
    return int(result.rowcount or 0)
