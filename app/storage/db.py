"""The database: one async engine on the request path, a sync URL for Alembic and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.storage.sql import PostgresDatabase, SqlDatabase, connect, libpq_url


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic): plain sqlite, psycopg for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL for the async engine: aiosqlite for SQLite, psycopg (async mode) for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


async def advisory_lock(session: AsyncSession, lock_id: int) -> None:
    """Serialise the rest of this transaction against others taking the same lock.

    Call it first in the transaction. PostgreSQL: a transaction-scoped advisory lock, so replicas
    wait for each other. SQLite has one database-wide write lock, and Python's driver runs reads
    outside any transaction until the first write; a write that changes nothing takes that lock
    now (waiting out the busy timeout) and makes the reads that follow part of the transaction.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    else:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = version_num WHERE 0")
        )


async def delete_by_key(db: Database, model: type[Any], key: str) -> bool:
    """Delete one row by primary key; False when there was none. Rows that reference it go with
    it (the foreign keys cascade)."""
    async with db.session() as session:
        row = await session.get(model, key)
        if row is None:
            return False
        await session.delete(row)
        await session.commit()
        return True


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while one writer commits; the busy timeout makes a second writer
    # wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    if is_postgres(url):
        return create_async_engine(async_url(url), pool_pre_ping=True, pool_size=10)
    engine = create_async_engine(async_url(url), connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


class Database:
    """Owns the engine and hands out sessions; one per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._sql: SqlDatabase | None = None
        self.engine = create_engine(url)
        self.is_postgres = is_postgres(url)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @property
    def sql(self) -> SqlDatabase:
        """The hot paths' statements (app/storage/sql.py)."""
        if self._sql is None:
            self._sql = connect(self.url, pool_size=self.pool_size)
        return self._sql

    async def open(self) -> None:
        """Connect now rather than on first use (a server fails at start, not mid-request)."""
        sql = self.sql
        if isinstance(sql, PostgresDatabase):
            await sql.open()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @property
    def conninfo(self) -> str:
        """A libpq URI for a plain psycopg connection (LISTEN/NOTIFY) to the same database."""
        return libpq_url(self.url)

    async def dispose(self) -> None:
        if self._sql is not None:
            await self._sql.close()
        await self.engine.dispose()
