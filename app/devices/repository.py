"""The device statements on the phone's hot path (every device call reads its device)."""

from __future__ import annotations

from datetime import datetime

from app.devices.models import Device
from app.storage.sql import Codec, SqlDatabase, Tx

ROWS = Codec(Device)
BY_ID = f"SELECT {ROWS.columns} FROM devices WHERE id = :id"
SEEN = "UPDATE devices SET last_seen_at = :now WHERE id = :id"


async def get(db: SqlDatabase, device_id: str) -> Device | None:
    return ROWS.load(
        await db.one(f"SELECT {ROWS.columns} FROM devices WHERE id = :id", {"id": device_id})
    )


async def reachable(tx: Tx, user_id: str, token: str, dead: str) -> list[str]:
    """The user's devices whose ``token`` column is set and not marked ``dead`` (a push
    channel's columns: push_token and push_token_dead for FCM, web_push and web_push_dead)."""
    rows = await tx.all(
        f"SELECT id FROM devices WHERE user_id = :user_id AND {token} IS NOT NULL "
        f"AND {dead} = :dead",
        {"user_id": user_id, "dead": False},
    )
    return [row["id"] for row in rows]


async def seen(tx: Tx, device_id: str, now: datetime) -> None:
    await tx.execute(
        "UPDATE devices SET last_seen_at = :now WHERE id = :id", {"id": device_id, "now": now}
    )
