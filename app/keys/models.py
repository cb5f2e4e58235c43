"""Tables for key material."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column, utcnow


class KeyStatus(StrEnum):
    """A signing key's life: published as ``next`` before use, ``current`` while it signs,
    ``retiring`` while tokens it signed may still be alive, then deleted.

        next ──rotate──▶ current ──rotate──▶ retiring ──retire_after passes──▶ (deleted)
    """

    NEXT = "next"
    CURRENT = "current"
    RETIRING = "retiring"


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16, index=True)
    status: str = Field(max_length=16, description="a KeyStatus value")
    public_jwk: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    private_key: str = Field(description="PKCS#8 PEM, sealed by SecretBox")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retire_after: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ServerSecret(SQLModel, table=True):
    """Secrets the server generates for itself on first start (e.g. the pairwise salt)."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(description="sealed by SecretBox")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
