"""The redirect flow's scheduled purge: rows that can no longer be used.

A redeemed code is kept an hour past its expiry, so that a late replay is still recognised as
one (and revokes what the code issued) rather than being merely unknown.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col

from app.authorize.models import AuthorizationCode, BrowserSession, StoredAuthorization
from app.storage.db import Database
from app.storage.types import utcnow

CODE_MEMORY = timedelta(hours=1)


async def purge_expired(db: Database, now: datetime | None = None) -> int:
    now = now or utcnow()
    removed = 0
    async with db.session() as session:
        for table, before in (
            (StoredAuthorization, now),
            (BrowserSession, now),
            (AuthorizationCode, now - CODE_MEMORY),
        ):
            result = await session.exec(delete(table).where(col(table.expires_at) < before))
            removed += result.rowcount
        await session.commit()
    return removed
