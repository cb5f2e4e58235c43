"""Every SQL statement on decision_evidence (run through app/storage/sql.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.evidence.models import DecisionEvidence
from app.storage.sql import Codec, SqlDatabase, Tx, placeholders

ROWS = Codec(DecisionEvidence)
INSERT = f"INSERT INTO decision_evidence ({ROWS.columns}) VALUES ({placeholders(ROWS.names)})"
BY_ID = f"SELECT {ROWS.columns} FROM decision_evidence WHERE request_id = :id"
# Write-once entries of the timeline; a request without evidence (never decided) has no row.
REDEEMED = "UPDATE decision_evidence SET redeemed_at = :at WHERE request_id = :id"
# Where the tokens leave in the answer that redeems them (poll, headless, a login page's code).
REDEEMED_AND_DELIVERED = (
    "UPDATE decision_evidence SET redeemed_at = :at, delivered_at = :at WHERE request_id = :id"
)
DELIVERED = (
    "UPDATE decision_evidence SET delivered_at = :at "
    "WHERE request_id = :id AND delivered_at IS NULL"
)
PURGE = "DELETE FROM decision_evidence WHERE retain_until < :now"


async def insert(tx: Tx, row: dict[str, Any]) -> None:
    await tx.execute(INSERT, row)


async def redeemed(tx: Tx, request_id: str, at: datetime, *, delivered: bool) -> None:
    await tx.execute(
        REDEEMED_AND_DELIVERED if delivered else REDEEMED, {"id": request_id, "at": at}
    )


async def delivered(db: SqlDatabase, request_id: str, at: datetime) -> None:
    async def unit(tx: Tx) -> None:
        await tx.execute(DELIVERED, {"id": request_id, "at": at})

    await db.write(unit)


async def get(db: SqlDatabase, request_id: str) -> DecisionEvidence | None:
    return ROWS.load(await db.one(BY_ID, {"id": request_id}))


async def purge(db: SqlDatabase, now: datetime) -> int:
    async def unit(tx: Tx) -> int:
        return await tx.execute(PURGE, {"now": now})

    return await db.write(unit)
