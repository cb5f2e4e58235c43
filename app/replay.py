"""Single-use identifiers (JWT ``jti``): each accepted once, by one atomic insert.

Client assertions (RFC 7523 §3 item 7), device assertions and signed requests all record their
``jti`` here with the JWT's ``exp``; a second use of the same one fails the unique key. Revoked
access-token ids live here too.

A JWT is accepted up to the clock-skew leeway past its ``exp``, so a record must outlive ``exp``
by that leeway: otherwise a purge inside the window forgets it and the same JWT is accepted again
(or a revoked token comes back to life). The purge below is the one place that decides this.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Field, SQLModel, col

from app.storage.db import Database
from app.storage.sql import Tx
from app.storage.types import UTCDateTime, utcnow


class UsedJti(SQLModel, table=True):
    __tablename__ = "used_jtis"

    issuer: str = Field(primary_key=True, max_length=255)
    jti: str = Field(primary_key=True, max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


INSERT = (
    "INSERT INTO used_jtis (issuer, jti, expires_at) VALUES (:issuer, :jti, :expires_at) "
    "ON CONFLICT (issuer, jti) DO NOTHING"
)


async def record(tx: Tx, issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record ``jti`` for ``issuer`` in the caller's transaction; False when it was used."""
    params = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
    return await tx.execute(INSERT, params) == 1


async def use_once(db: Database, issuer: str, jti: str, expires_at: datetime) -> bool:
    """Record ``jti`` for ``issuer``; False when it was already used."""
    params = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
    return await db.sql.execute(INSERT, params) == 1


async def was_used(db: Database, issuer: str, jti: str) -> bool:
    async with db.session() as session:
        return await session.get(UsedJti, (issuer, jti)) is not None


async def purge_expired(db: Database, leeway_seconds: float, now: datetime | None = None) -> int:
    """Forget records whose JWT is past ``exp`` + ``leeway_seconds``: no check accepts it then."""
    cutoff = (now or utcnow()) - timedelta(seconds=leeway_seconds)
    async with db.session() as session:
        result = await session.exec(delete(UsedJti).where(col(UsedJti.expires_at) < cutoff))
        await session.commit()
    return int(result.rowcount or 0)
