"""Every SQL statement on the outbox table: insert, claim under a lease, renew, settle, count.

A claim counts the attempt (``attempts + 1``) and that count is the claim's token: renewing and
settling a row only work while it still carries the count this process claimed it with. A
process whose lease ran out and was taken over by another finds the count moved on, so its late
outcome is dropped instead of overwriting the newer delivery's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.outbox.models import OutboxMessage
from app.storage.sql import Codec, SqlDatabase, Tx, placeholders

ROWS = Codec(OutboxMessage)
INSERT = f"INSERT INTO outbox ({ROWS.columns}) VALUES ({placeholders(ROWS.names)})"
# Due rows nobody holds a live lease on, oldest first. PostgreSQL: rows another replica is
# claiming right now are skipped, not waited for; SQLite: the write unit holds the database lock.
_DUE_WHERE = (
    "status = 'pending' AND next_attempt_at <= :now "
    "AND (claimed_until IS NULL OR claimed_until < :now)"
)
DUE = f"SELECT id FROM outbox WHERE {_DUE_WHERE} ORDER BY next_attempt_at LIMIT :limit"
ANY_DUE = f"SELECT 1 AS due FROM outbox WHERE {_DUE_WHERE} LIMIT 1"
CLAIM = (
    "UPDATE outbox SET claimed_until = :lease, attempts = attempts + 1 "
    f"WHERE id IN ({{due}}) RETURNING {ROWS.columns}"
)
RENEW = "UPDATE outbox SET claimed_until = :lease WHERE id = :id AND attempts = :held"
STATS = (
    "SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest, SUM(attempts) AS attempts "
    "FROM outbox GROUP BY status"
)


async def insert(tx: Tx, message: OutboxMessage) -> None:
    await tx.execute(INSERT, {name: getattr(message, name) for name in ROWS.names})


async def any_due(db: SqlDatabase, now: datetime) -> bool:
    """A read, so an idle dispatcher's periodic look costs no write (and no fsync)."""
    return await db.one(ANY_DUE, {"now": now}) is not None


async def claim(tx: Tx, now: datetime, lease: datetime, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to this process until ``lease``."""
    due = DUE + (" FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else "")
    rows = await tx.all(CLAIM.format(due=due), {"now": now, "lease": lease, "limit": limit})
    messages = [ROWS.load(row) for row in rows]
    return sorted(messages, key=lambda m: m.next_attempt_at)


async def renew(tx: Tx, messages: list[OutboxMessage], lease: datetime) -> list[str]:
    """Extend our lease on messages still being delivered; the ids we still hold."""
    held = []
    for message in messages:
        if await tx.execute(RENEW, {"lease": lease, "id": message.id, "held": message.attempts}):
            held.append(message.id)
    return held


async def settle(tx: Tx, message: OutboxMessage, changes: dict[str, Any]) -> bool:
    """Record a delivery's outcome, only while our claim on the row still holds."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    sql = f"UPDATE outbox SET {sets} WHERE id = :id AND attempts = :held"
    return await tx.execute(sql, {**changes, "id": message.id, "held": message.attempts}) == 1


async def stats(db: SqlDatabase) -> list[dict[str, Any]]:
    """Rows, the oldest row's creation and attempts so far, per status (for /metrics)."""
    rows = await db.all(STATS)
    for row in rows:  # MIN() of a column comes back as the driver's raw value
        row["created_at"] = row.pop("oldest")
        ROWS.decode(row)
    return rows
