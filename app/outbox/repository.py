"""Every SQL statement on the outbox table: insert, claim a batch under a lease, settle one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.outbox.models import OutboxMessage
from app.storage.sql import Codec, Tx, placeholders

ROWS = Codec(OutboxMessage)
INSERT = f"INSERT INTO outbox ({ROWS.columns}) VALUES ({placeholders(ROWS.names)})"
# Due rows nobody holds a live lease on, oldest first. PostgreSQL: rows another replica is
# claiming right now are skipped, not waited for; SQLite: the write unit holds the database lock.
DUE = (
    "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now "
    "AND (claimed_until IS NULL OR claimed_until < :now) ORDER BY next_attempt_at LIMIT :limit"
)
CLAIM = f"UPDATE outbox SET claimed_until = :lease WHERE id IN ({{due}}) RETURNING {ROWS.columns}"


async def insert(tx: Tx, message: OutboxMessage) -> None:
    await tx.execute(INSERT, {name: getattr(message, name) for name in ROWS.names})


async def claim(tx: Tx, now: datetime, lease: datetime, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to this process until ``lease``."""
    due = DUE + (" FOR UPDATE SKIP LOCKED" if tx.dialect == "postgresql" else "")
    rows = await tx.all(CLAIM.format(due=due), {"now": now, "lease": lease, "limit": limit})
    messages = [ROWS.load(row) for row in rows]
    return sorted(messages, key=lambda m: m.next_attempt_at)


async def settle(tx: Tx, message: OutboxMessage, changes: dict[str, Any]) -> bool:
    """Record a delivery's outcome, only while our lease on the row still holds."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    sql = f"UPDATE outbox SET {sets} WHERE id = :id AND claimed_until = :held"
    params = {**changes, "id": message.id, "held": message.claimed_until}
    return await tx.execute(sql, params) == 1
