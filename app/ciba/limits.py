"""Per-client and per-user limits on starting authentication requests (push-bombing).

Counted in the database, so every replica shares the counts: one counter row per key and fixed
window (``rate_limit_window_seconds``), bumped by one upsert in the very transaction that stores
the request. A refused attempt rolls its bumps back with it and leaves nothing behind (the phone
is not told). Fixed windows let a burst straddle a boundary (up to twice the limit over one
window's length); a limit against push-bombing needs no more precision than that.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Field, SQLModel

from app.errors import TooManyRequests
from app.settings import Settings
from app.storage.db import Database
from app.storage.sql import Tx
from app.storage.types import UTCDateTime


class RateCount(SQLModel, table=True):
    __tablename__ = "rate_counts"

    key: str = Field(
        primary_key=True, max_length=200, description="client:, user: or login-user:<id>"
    )
    window_start: int = Field(
        primary_key=True,
        description="Unix time the window opened",
        sa_column_kwargs={"autoincrement": False},
    )
    count: int = 0
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


BUMP = (
    "INSERT INTO rate_counts (key, window_start, count, expires_at) "
    "VALUES (:key, :window_start, 1, :expires_at) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counts.count + 1 "
    "RETURNING count"
)
READ = "SELECT count FROM rate_counts WHERE key = :key AND window_start = :window_start"


async def count_start(
    tx: Tx, settings: Settings, client_id: str | None, user_id: str | None, now: datetime
) -> None:
    """Count one more request started; raise ``TooManyRequests`` (429 with ``Retry-After``)
    when that is over a limit. Runs inside the write that stores the request."""
    window = settings.rate_limit_window_seconds
    start = int(now.timestamp()) // window * window
    ends = datetime.fromtimestamp(start + window, now.tzinfo)
    window_of = {"window_start": start, "expires_at": ends}
    refusal = "too many authentication requests for {}; try again later"
    retry_after = max(1, math.ceil((ends - now).total_seconds()))
    # What the client itself started counts against it; login pages are browsers'.
    client_key = f"client:{client_id}"
    if client_id is not None and (
        await _bump(tx, client_key, window_of) > settings.rate_limit_per_client
    ):
        raise TooManyRequests(refusal.format("this client"), retry_after=retry_after)
    if user_id is None:
        return
    # Clients and login pages count apart: a client is not refused for what anonymous browsers
    # typed on login pages (they have budgets of their own, app/authorize/tries.py). A login
    # page's push counts both, so the phone stays protected from either.
    own, other = (f"user:{user_id}", f"login-user:{user_id}")
    if client_id is None:
        own, other = other, own
    count = await _bump(tx, own, window_of)
    if client_id is None:
        row = await tx.one(READ, {"key": other, **window_of})
        count += row["count"] if row else 0
    if count > settings.rate_limit_per_user:
        raise TooManyRequests(refusal.format("this user"), retry_after=retry_after)


async def _bump(tx: Tx, key: str, window_of: dict[str, object]) -> int:
    row = await tx.one(BUMP, {"key": key, **window_of})
    return int(row["count"]) if row else 0


async def purge_expired(db: Database, now: datetime) -> int:
    """The scheduled job: counters of windows that closed."""
    return await db.sql.execute(
        "DELETE FROM rate_counts WHERE expires_at < :now", {"now": now - timedelta(seconds=1)}
    )
