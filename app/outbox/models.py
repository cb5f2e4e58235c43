"""The outbox table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column, utcnow


class Delivery(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxMessage(SQLModel, table=True):
    """One side effect to perform: written in the transaction of the change that causes it."""

    __tablename__ = "outbox"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32, description="which handler delivers it")
    payload: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    status: str = Field(default=Delivery.PENDING, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    give_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
