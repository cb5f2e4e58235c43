"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    SQLite has no time zone type and hands back naive values; storing naive UTC and re-attaching
    UTC on the way out means comparisons with ``datetime.now(UTC)`` behave the same on both.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_column() -> Any:
    """A JSON column (JSONB-compatible text on PostgreSQL, TEXT on SQLite)."""
    return JSON


def reference(target: str, length: int, *, nullable: bool = False, index: bool = True) -> Any:
    """A foreign-key column to ``table.column`` whose rows go when the target row goes (a deleted
    client or user takes its tokens, codes and sessions with it). Indexed, for that cascade,
    unless the table's own index on several columns starts with it (``index=False``)."""
    return Column(
        String(length),
        ForeignKey(target, ondelete="CASCADE"),
        nullable=nullable,
        index=index,
    )
