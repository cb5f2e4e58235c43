"""Subject identifiers (OpenID Core §8): ``public`` or ``pairwise`` per sector.

A pairwise ``sub`` is HMAC-SHA256(secret, sector || user id): stable for one sector, unlinkable
across sectors, and not reversible without the secret. So that an ``id_token_hint`` carrying a
pairwise ``sub`` can name its user again, every pairwise ``sub`` put into a token is recorded.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clients.models import Client
from app.keys.crypto import b64url
from app.storage.db import Database
from app.storage.types import reference


class PairwiseSubject(SQLModel, table=True):
    __tablename__ = "pairwise_subjects"

    sector: str = Field(primary_key=True, max_length=255)
    sub: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(sa_column=reference("users.id", 64))


class SubjectService:
    def __init__(self, pairwise_secret: bytes, db: Database | None = None) -> None:
        self._secret = pairwise_secret
        self.db = db

    def subject(self, user_id: str, client: Client) -> str:
        """The ``sub`` this client sees for this user."""
        sector = _sector(client)
        return user_id if sector is None else self.pairwise(user_id, sector)

    def pairwise(self, user_id: str, sector: str) -> str:
        message = sector.encode() + b"\x00" + user_id.encode()
        return b64url(hmac.new(self._secret, message, hashlib.sha256).digest())

    async def issue(self, session: AsyncSession, user_id: str, client: Client) -> str:
        """The ``sub`` for a token about to be issued, remembered in the caller's transaction
        when it is pairwise."""
        sector = _sector(client)
        if sector is None:
            return user_id
        sub = self.pairwise(user_id, sector)
        assert self.db is not None
        insert = pg_insert if self.db.is_postgres else sqlite_insert
        row = {"sector": sector, "sub": sub, "user_id": user_id}
        await session.exec(insert(PairwiseSubject).values(**row).on_conflict_do_nothing())
        return sub

    async def user_id(self, sub: str, client: Client) -> str | None:
        """The user behind a ``sub`` this client was given, or None."""
        sector = _sector(client)
        if sector is None:
            return sub
        assert self.db is not None
        async with self.db.session() as session:
            row = await session.get(PairwiseSubject, (sector, sub))
            return row.user_id if row else None


def _sector(client: Client) -> str | None:
    if client.registration.get("subject_type") != "pairwise":
        return None
    return str(client.registration["sector_identifier"])
