"""Per-client and per-user limits on starting authentication requests (push-bombing).

Counted in the database, so every replica shares the counts: one counter row per key, bumped by
one upsert. A key's window (``rate_limit_window_seconds``) opens with its first start and the
count restarts once it has passed, so a burst is never split across two windows. A refused
attempt leaves nothing behind (the phone is not told).

Where the bump runs depends on the database (``count_start``'s caller, app/ciba/flow.py): on
SQLite inside the transaction that stores the request (one writer: no lock to wait for; a
refusal rolls back with it); on PostgreSQL as one statement of its own just before, because every
start of a client bumps the same row, and a row lock held until the request's commit — across
turns of the event loop between its statements — made the client's starts wait on one another.
There a refusal takes its bumps back with one more statement.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Field, SQLModel

from app.errors import TooManyRequests
from app.settings import Settings
from app.storage.db import Database
from app.storage.sql import Codec, SqlDatabase, Tx
from app.storage.types import UTCDateTime


class RateCount(SQLModel, table=True):
    __tablename__ = "rate_counts"

    key: str = Field(
        primary_key=True, max_length=200, description="client:, user: or login-user:<id>"
    )
    count: int = 0
    # Not indexed: every bump may move it (an index entry rewritten per request), and only the
    # purge job asks by it, scanning a table of one row per key active in the last window.
    expires_at: datetime = Field(
        sa_type=UTCDateTime, description="the end of the window the count is for"
    )


ROWS = Codec(RateCount)
# One statement bumps every counter a start counts against (one round trip on PostgreSQL). A
# window opens with a key's first start (not on the clock's minute): a burst never straddles
# two windows, so a limit of 5 is at most 5 in any window's length.
BUMP = (
    "INSERT INTO rate_counts (key, count, expires_at) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_counts.expires_at <= :now THEN 1 ELSE rate_counts.count + 1 END, "
    "expires_at = CASE WHEN rate_counts.expires_at <= :now THEN excluded.expires_at "
    "ELSE rate_counts.expires_at END "
    "RETURNING key, count, expires_at"
)
READ = "SELECT count FROM rate_counts WHERE key = :key AND expires_at > :now"


# Taking back the bumps of a refused start (PostgreSQL, where they committed on their own):
# each in the window it was counted in, never in one that opened since.
UNDO = "UPDATE rate_counts SET count = count - 1 WHERE count > 0 AND ({bumped})"


async def count_start(
    tx: Tx | SqlDatabase,
    settings: Settings,
    client_id: str | None,
    user_id: str | None,
    now: datetime,
) -> None:
    """Count one more request started; raise ``TooManyRequests`` (429 with ``Retry-After``)
    when that is over a limit. ``tx``: the write that stores the request, or the database
    itself (each statement its own transaction; see the module's docstring)."""
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
    ends = now + timedelta(seconds=settings.rate_limit_window_seconds)
    counts = await _bump(tx, list(limits), now, ends)
    if user_id is not None and other_key is not None:
        row = await tx.one(READ, {"key": other_key, "now": now})
        counts[user_key] = (counts[user_key][0] + (row["count"] if row else 0), counts[user_key][1])
    for key, (who, limit) in limits.items():
        count, window_ends = counts[key]
        if count > limit:
            if isinstance(tx, SqlDatabase):  # committed already: take them back
                await _undo(tx, counts)
            raise TooManyRequests(
                f"too many authentication requests for {who}; try again later",
                retry_after=max(1, math.ceil((_decoded(window_ends) - now).total_seconds())),
            )


# A key's count, and the end of its window as the database returned it: decoded only when a
# start is refused, the one time it is needed.
Counts = dict[str, tuple[int, Any]]


def _decoded(window_ends: Any) -> datetime:
    return ROWS.decode({"expires_at": window_ends})["expires_at"]


async def _bump(tx: Tx | SqlDatabase, keys: list[str], now: datetime, ends: datetime) -> Counts:
    params: dict[str, object] = {"now": now, "expires_at": ends}
    rows = []
    for i, key in enumerate(keys):
        params[f"k{i}"] = key
        rows.append(f"(:k{i}, 1, :expires_at)")
    bumped = await tx.all(BUMP.format(rows=", ".join(rows)), params)
    return {row["key"]: (int(row["count"]), row["expires_at"]) for row in bumped}


async def _undo(db: SqlDatabase, counts: Counts) -> None:
    params: dict[str, object] = {}
    bumped = []
    for i, (key, (_, window_ends)) in enumerate(counts.items()):
        params[f"k{i}"], params[f"e{i}"] = key, _decoded(window_ends)
        bumped.append(f"(key = :k{i} AND expires_at = :e{i})")
    await db.execute(UNDO.format(bumped=" OR ".join(bumped)), params)


async def purge_expired(db: Database, now: datetime) -> int:
    """The scheduled job: counters of windows that closed."""
    return await db.sql.execute(
        "DELETE FROM rate_counts WHERE expires_at < :now", {"now": now - timedelta(seconds=1)}
    )
