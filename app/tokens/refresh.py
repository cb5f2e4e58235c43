"""Refresh tokens: random strings handed to the client, kept here only as hashes.

Each token belongs to a family (every token rotated from one grant). The refresh_token grant
rotates a token on use; using a rotated one again revokes the whole family (OAuth 2.0 Security
BCP §4.14). This module issues and stores them; grants decide when.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.hashing import hash_secret, new_secret
from app.storage.types import UTCDateTime, json_column, reference, utcnow


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: str = Field(primary_key=True, max_length=64)
    token_hash: str = Field(max_length=128, unique=True)
    family_id: str = Field(max_length=64, index=True)
    client_id: str = Field(sa_column=reference("clients.client_id", 128))
    user_id: str = Field(sa_column=reference("users.id", 64))
    scope: str = Field(max_length=1000)
    auth_time: int | None = None
    acr: str | None = Field(default=None, max_length=100)
    amr: list[str] = Field(default_factory=list, sa_column=Column(json_column(), nullable=False))
    # RFC 9396 §7: what the grant approved; a refresh keeps it and never widens it.
    authorization_details: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(json_column(), nullable=True)
    )
    # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    dpop_jkt: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def issue_refresh_token(
    session: AsyncSession,
    *,
    client_id: str,
    user_id: str,
    scope: str,
    lifetime: int,
    auth_time: int | None,
    acr: str | None,
    amr: list[str],
    family_id: str | None = None,
    authorization_details: list[dict[str, Any]] | None = None,
    dpop_jkt: str | None = None,
) -> str:
    """Stage a new refresh token in the caller's transaction; returns the token itself."""
    token = new_secret(32)
    now = utcnow()
    session.add(
        RefreshToken(
            id=uuid.uuid4().hex,
            token_hash=hash_secret(token),
            family_id=family_id or uuid.uuid4().hex,
            client_id=client_id,
            user_id=user_id,
            scope=scope,
            auth_time=auth_time,
            acr=acr,
            amr=amr,
            authorization_details=authorization_details,
            dpop_jkt=dpop_jkt,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return token


async def find_refresh_token(session: AsyncSession, token: str) -> RefreshToken | None:
    query = select(RefreshToken).where(RefreshToken.token_hash == hash_secret(token))
    return (await session.exec(query)).first()


def is_live(token: RefreshToken, now: datetime) -> bool:
    return token.rotated_at is None and token.revoked_at is None and token.expires_at > now


async def revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
    """Revoke every token rotated from the same grant (in the caller's transaction)."""
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
