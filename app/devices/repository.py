"""The device statements on the phone's hot path (every device call reads its device)."""

from __future__ import annotations

from datetime import datetime

from app.devices.models import Device
from app.storage.sql import Codec, Row, SqlDatabase, Tx

ROWS = Codec(Device)
BY_ID = f"SELECT {ROWS.columns} FROM devices WHERE id = :id"
SEEN = "UPDATE devices SET last_seen_at = :now WHERE id = :id"


async def get(db: SqlDatabase, device_id: str) -> Device | None:
    return ROWS.load(
        await db.one(f"SELECT {ROWS.columns} FROM devices WHERE id = :id", {"id": device_id})
    )


# Each device of a user and, per push channel, whether it has a token (or subscription) and
# whether the push service called it dead: one statement tells every channel whom it reaches.
PUSH_TARGETS = (
    "SELECT id, push_token IS NOT NULL AS push_token, push_token_dead, "
    "web_push IS NOT NULL AS web_push, web_push_dead FROM devices WHERE user_id = :user_id"
)


async def push_targets(tx: Tx, user_id: str) -> list[Row]:
    return await tx.all(PUSH_TARGETS, {"user_id": user_id})


async def seen(tx: Tx, device_id: str, now: datetime) -> None:
    await tx.execute(
        "UPDATE devices SET last_seen_at = :now WHERE id = :id", {"id": device_id, "now": now}
    )
