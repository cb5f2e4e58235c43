"""Tables for enrolled devices and enrollment codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column, reference, utcnow


class Device(SQLModel, table=True):
    """A phone (or the web authenticator) holding its own key; we keep only the public half."""

    __tablename__ = "devices"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(sa_column=reference("users.id", 64))
    public_jwk: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    alg: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=100)
    platform: str | None = Field(default=None, max_length=20)
    push_token: str | None = Field(default=None, max_length=4096)
    push_token_dead: bool = False
    # A browser's Web Push subscription (RFC 8030): {"endpoint", "keys": {"p256dh", "auth"}}.
    # SQL NULL when absent (not JSON null): the push effect selects ``web_push IS NOT NULL``.
    web_push: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    web_push_dead: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def view(self) -> dict[str, Any]:
        return {
            "device_id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "platform": self.platform,
            "alg": self.alg,
            "push": "dead" if self.push_token_dead else ("on" if self.push_token else "off"),
            "web_push": "dead" if self.web_push_dead else ("on" if self.web_push else "off"),
            "created_at": self.created_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
        }


class Enrollment(SQLModel, table=True):
    """A single-use code that lets one new device join a user."""

    __tablename__ = "enrollments"

    code_hash: str = Field(primary_key=True, max_length=128)
    user_id: str = Field(sa_column=reference("users.id", 64))
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
