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


# One statement bumps every counter a start counts against (one round trip on PostgreSQL).
BUMP = (
    "INSERT INTO rate_counts (key, window_start, count, expires_at) VALUES {rows} "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counts.count + 1 "
    "RETURNING key, count"
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
    # What the client itself started counts against it; login pages are browsers'. Clients and
    # login pages count a user apart: a client is not refused for what anonymous browsers typed
    # on login pages (they have budgets of their own, app/authorize/tries.py); a login page's
    # push counts both, so the phone stays protected from either.
    limits: dict[str, tuple[str, int]] = {}
    if client_id is not None:
        limits[f"client:{client_id}"] = ("this client", settings.rate_limit_per_client)
        user_key, other_key = f"user:{user_id}", None
    else:
        user_key, other_key = f"login-user:{user_id}", f"user:{user_id}"
    if user_id is not None:
        limits[user_key] = ("this user", settings.rate_limit_per_user)
    if not limits:
        return
    counts = await _bump(tx, list(limits), start, ends)
    if user_id is not None and other_key is not None:
        row = await tx.one(READ, {"key": other_key, "window_start": start})
        counts[user_key] += row["count"] if row else 0
    for key, (who, limit) in limits.items():
        if counts[key] > limit:
            raise TooManyRequests(
                f"too many authentication requests for {who}; try again later",
                retry_after=max(1, math.ceil((ends - now).total_seconds())),
            )


async def _bump(tx: Tx, keys: list[str], start: int, ends: datetime) -> dict[str, int]:
    params: dict[str, object] = {"window_start": start, "expires_at": ends}
    rows = []
    for i, key in enumerate(keys):
        params[f"k{i}"] = key
        rows.append(f"(:k{i}, :window_start, 1, :expires_at)")
    bumped = await tx.all(BUMP.format(rows=", ".join(rows)), params)
    return {row["key"]: int(row["count"]) for row in bumped}


async def purge_expired(db: Database, now: datetime) -> int:
    """The scheduled job: counters of windows that closed."""
    return await db.sql.execute(
        "DELETE FROM rate_counts WHERE expires_at < :now", {"now": now - timedelta(seconds=1)}
    )
