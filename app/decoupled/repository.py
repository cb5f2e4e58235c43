"""Every SQL statement on the auth_requests table: the state machine's conditional writes and
the reads flows make while waiting. Run through app/storage/sql.py (no ORM on these paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.storage.sql import Codec, SqlDatabase, Tx, placeholders

ROWS = Codec(AuthRequest)
COLUMNS = ROWS.columns
INSERT = f"INSERT INTO auth_requests ({COLUMNS}) VALUES ({placeholders(ROWS.names)})"
BY_ID = f"SELECT {COLUMNS} FROM auth_requests WHERE id = :id"
PENDING_FOR_USER = (
    f"SELECT {COLUMNS} FROM auth_requests WHERE user_id = :user_id AND status = 'pending' "
    "AND expires_at > :now ORDER BY created_at"
)
CLAIM = (
    "UPDATE auth_requests SET user_id = :user_id, claimed_at = :now "
    "WHERE id = :id AND user_id IS NULL AND status = 'pending' AND expires_at > :now"
)
SLOW_DOWN = (
    'UPDATE auth_requests SET "interval" = "interval" + 5, last_polled_at = :now WHERE id = :id'
)
# Write-once: only a request no device has been handed yet (evidence keeps the first time).
MARK_SHOWN = "UPDATE auth_requests SET shown_at = :now WHERE id = :id AND shown_at IS NULL"
OVERDUE = "SELECT id FROM auth_requests WHERE status IN ({sources}) AND expires_at <= :now"


async def insert(tx: Tx, row: dict[str, Any]) -> None:
    await tx.execute(INSERT, row)


async def get(db: SqlDatabase | Tx, request_id: str) -> AuthRequest | None:
    return ROWS.load(await db.one(BY_ID, {"id": request_id}))


async def pending_for_user(db: SqlDatabase, user_id: str, now: datetime) -> list[AuthRequest]:
    rows = await db.all(PENDING_FOR_USER, {"user_id": user_id, "now": now})
    return [ROWS.load(row) for row in rows]


async def move(
    tx: Tx,
    request_id: str,
    target: Status,
    allowed: tuple[Status, ...],
    values: dict[str, Any],
    *,
    not_after: datetime | None,
    user_id: str | None,
) -> AuthRequest | None:
    """The one conditional write of a move: the request after it, or None when it was not in
    an ``allowed`` state (or past ``not_after``, or not ``user_id``'s)."""
    params: dict[str, Any] = {"id": request_id, "target": target.value}
    sets = ["status = :target"]
    for name, value in values.items():
        params[f"v_{name}"] = value
        sets.append(f'"{name}" = :v_{name}')
    states = []
    for i, state in enumerate(allowed):
        params[f"s{i}"] = state.value
        states.append(f":s{i}")
    where = [f"id = :id AND status IN ({', '.join(states)})"]
    if not_after is not None:
        params["not_after"] = not_after
        where.append("expires_at > :not_after")
    if user_id is not None:
        params["user_id"] = user_id
        where.append("user_id = :user_id")
    sql = (
        f"UPDATE auth_requests SET {', '.join(sets)} WHERE {' AND '.join(where)} "
        f"RETURNING {COLUMNS}"
    )
    return ROWS.load(await tx.one(sql, params))


async def claim(tx: Tx, request_id: str, user_id: str, now: datetime) -> bool:
    return await tx.execute(CLAIM, {"id": request_id, "user_id": user_id, "now": now}) == 1


async def record_poll(
    tx: Tx, request_id: str, previous: datetime | None, now: datetime, *, on_time: bool
) -> bool:
    """Set ``last_polled_at`` if it is still ``previous`` (compare-and-set); a poll that came
    too soon also grows the interval by 5 s. False when another poll got there first."""
    same = "last_polled_at IS NULL" if previous is None else "last_polled_at = :previous"
    grow = "" if on_time else ', "interval" = "interval" + 5'
    sql = f"UPDATE auth_requests SET last_polled_at = :now{grow} WHERE id = :id AND {same}"
    return await tx.execute(sql, {"id": request_id, "now": now, "previous": previous}) == 1


async def mark_shown(tx: Tx, request_ids: list[str], now: datetime) -> None:
    for request_id in request_ids:
        await tx.execute(MARK_SHOWN, {"id": request_id, "now": now})


async def slow_down(tx: Tx, request_id: str, now: datetime) -> None:
    await tx.execute(SLOW_DOWN, {"id": request_id, "now": now})


async def set_extra(tx: Tx, request_id: str, values: dict[str, Any]) -> None:
    current = await get(tx, request_id)
    if current is not None:
        await tx.execute(
            "UPDATE auth_requests SET extra = :extra WHERE id = :id",
            {"id": request_id, "extra": {**current.extra, **values}},
        )


async def overdue(db: SqlDatabase, sources: tuple[Status, ...], now: datetime) -> list[str]:
    params: dict[str, Any] = {"now": now}
    names = []
    for i, state in enumerate(sources):
        params[f"s{i}"] = state.value
        names.append(f":s{i}")
    rows = await db.all(OVERDUE.format(sources=", ".join(names)), params)
    return [row["id"] for row in rows]
