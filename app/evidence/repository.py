"""Every SQL statement on decision_evidence (run through app/storage/sql.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.evidence.models import DecisionEvidence
from app.storage.sql import Codec, SqlDatabase, Tx, placeholders

ROWS = Codec(DecisionEvidence)
INSERT = f"INSERT INTO decision_evidence ({ROWS.columns}) VALUES ({placeholders(ROWS.names)})"
BY_ID = f"SELECT {ROWS.columns} FROM decision_evidence WHERE request_id = :id"
PURGE = "DELETE FROM decision_evidence WHERE retain_until < :now"


async def insert(tx: Tx, row: dict[str, Any]) -> None:
    await tx.execute(INSERT, row)


async def get(db: SqlDatabase, request_id: str) -> DecisionEvidence | None:
    return ROWS.load(await db.one(BY_ID, {"id": request_id}))


async def purge(db: SqlDatabase, now: datetime) -> int:
    async def unit(tx: Tx) -> int:
        return await tx.execute(PURGE, {"now": now})

    return await db.write(unit)
