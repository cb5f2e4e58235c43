"""Hot-path SQL: plain statements on the database driver, without the ORM's unit of work.

The request paths that carry load (``/bc-authorize``, ``/token`` polls, the phone's calls, the
outbox) run a handful of statements each. Through the async ORM every statement cost a thread
hop (aiosqlite) or a greenlet switch plus object bookkeeping; here a statement is one driver
call. Each feature keeps its statements in its own ``repository.py``; this module only runs them.

Statements are written once, with ``:name`` parameters, for both databases:

- **SQLite** (embedded, one process): one connection used synchronously on the event loop's
  thread (a statement takes microseconds, far less than a thread hop). Writes are
  *group-committed*: the write units handed in during one turn of the loop run in one
  transaction, each inside its own savepoint (a failing unit rolls back alone), and an ``fsync``
  of the WAL makes them durable before any of their callers is answered (``SqliteDatabase``).
  A write unit is an ``async`` function that must not wait on anything but its own statements
  (on SQLite they complete without suspending), so a transaction never spans a turn of the loop.
- **PostgreSQL**: a psycopg connection pool; a write unit runs in its own transaction
  (PostgreSQL group-commits concurrent transactions itself).

Values: aware datetimes are stored as naive UTC (the ORM's ``UTCDateTime``), dicts and lists as
JSON; :class:`Codec` turns rows back into the models' Python types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import JSON, Boolean
from sqlalchemy.engine import make_url

from app.storage.types import UTCDateTime
from app.storage.wal_sync import WalSyncer

T = TypeVar("T")
Params = Mapping[str, Any]
Row = dict[str, Any]


class IntegrityViolation(Exception):
    """A write broke a unique or foreign key constraint (a racing request got there first)."""


class Tx(Protocol):
    """The statements of one write unit, inside its transaction."""

    dialect: str  # "sqlite" or "postgresql", for the rare statement that differs

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def one(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def all(self, sql: str, params: Params | None = None) -> list[Row]: ...


WriteUnit = Callable[[Tx], Awaitable[T]]


class Codec:
    """Decodes a table's rows to the model's Python types, derived from its SQLAlchemy columns."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.datetimes: set[str] = set()
        self.jsons: set[str] = set()
        self.bools: set[str] = set()
        for column in model.__table__.columns:
            if isinstance(column.type, UTCDateTime):
                self.datetimes.add(column.name)
            elif isinstance(column.type, JSON):
                self.jsons.add(column.name)
            elif isinstance(column.type, Boolean):
                self.bools.add(column.name)
        self.names = [c.name for c in model.__table__.columns]
        self.fields = frozenset(model.__pydantic_fields__)
        # Quoted: some names (``interval``) are keywords in PostgreSQL.
        self.columns = ", ".join(f'"{name}"' for name in self.names)

    def decode(self, row: Row) -> Row:
        # Columns the row lacks read as None here and are left out, as they should be.
        for name in self.datetimes:
            value = row.get(name)
            if value is not None:
                row[name] = _aware_utc(value)
        for name in self.jsons:
            value = row.get(name)
            if isinstance(value, str):
                row[name] = _json_loads(value)
        for name in self.bools:
            value = row.get(name)
            if value is not None:
                row[name] = bool(value)
        return row

    def load(self, row: Row | None) -> Any:
        """The row as a (read-only, not session-bound) model instance."""
        if row is None:
            return None
        return self.build(self.decode(row))

    def build(self, row: Row) -> Any:
        """A model instance of values that are already the model's Python types."""
        if len(row) != len(self.fields) or not self.fields.issuperset(row):
            return self.model.model_construct(**row)
        # Every field present: what model_construct does, without its per-field look for
        # aliases and defaults (a third of a poll's cost in the model's Python).
        instance = self.model.__new__(self.model)
        _set(instance, "__dict__", row)
        _set(instance, "__pydantic_fields_set__", set(row))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance


_set = object.__setattr__


def _aware_utc(value: str | datetime) -> datetime:
    """A stored time (naive UTC: text from SQLite, a datetime from PostgreSQL) made aware."""
    if isinstance(value, str):
        try:
            # Parsed with its zone: several times faster than parsing, then replace() (a poll
            # decodes five).
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text that names a zone already
            value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _json_loads(text: str) -> Any:
    """orjson reads a JSON column several times faster (a phone's list decodes one per request
    it shows). It reads an integer beyond 64 bits as a float and refuses NaN, where the
    standard library (which wrote the column) keeps both: such text, rare, is read by it."""
    if _LONG_DIGITS(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


_LONG_DIGITS = re.compile(r"\d{16}").search  # where a 64-bit integer could overflow


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


class SqlDatabase:
    """What repositories call. ``one``/``all`` read outside any write; ``write`` runs a unit.
    It is a :class:`Tx` too, each statement its own transaction: a write of one statement needs
    no unit (on PostgreSQL it then costs one round trip, not BEGIN and COMMIT besides)."""

    dialect: str  # "sqlite" or "postgresql"

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        raise NotImplementedError

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        raise NotImplementedError

    async def write(self, unit: WriteUnit[T], *, durable: bool = True) -> T:
        """Run ``unit`` in a transaction; its result once the commit is on the disk. With
        ``durable`` False, once it is committed (visible to every reader, and on the disk with
        the next durable commit or checkpoint): for records whose loss in a power failure
        costs nothing but a repeat (an outbox lease, a delivery's outcome, a last-seen time)."""
        raise NotImplementedError

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """One statement as its own write unit."""

        async def unit(tx: Tx) -> int:
            return await tx.execute(sql, params)

        return await self.write(unit)

    async def close(self) -> None:
        pass


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_datetime(value: datetime) -> str:
    # The ORM's storage format for DateTime on SQLite (comparisons in SQL are textual): naive
    # UTC, always six fractional digits, which isoformat leaves out for a whole second.
    # Nearly always UTC already (utcnow): then its text without "+00:00", with no copy made.
    if value.tzinfo is UTC:
        text = value.isoformat(" ").removesuffix("+00:00")
    else:
        text = _naive_utc(value).isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _sqlite_json(value: dict[str, Any] | list[Any]) -> str:
    if not value:  # most requests' extra and amr, written as json.dumps writes them
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)


# The driver converts these itself, in C, when it binds them: a new request binds some thirty
# values, most of them plain, and converting each in Python cost more than its statement's
# other Python. Registered for the process (the ORM's own engine hands SQLite strings for its
# DateTime and JSON columns, so it never meets them).
sqlite3.register_adapter(datetime, _sqlite_datetime)
sqlite3.register_adapter(dict, _sqlite_json)
sqlite3.register_adapter(list, _sqlite_json)


def _sqlite_value(value: Any) -> Any:
    """What the adapters above make of a value of a subclass, which the driver does not adapt."""
    if isinstance(value, datetime):
        return _sqlite_datetime(value)
    if isinstance(value, dict | list):
        return _sqlite_json(value)
    return value


def _sqlite_params(params: Params | None) -> dict[str, Any]:
    return {k: _sqlite_value(v) for k, v in (params or {}).items()}


class _SqliteTx:
    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def _run(self, sql: str, params: Params | None) -> sqlite3.Cursor:
        bound = params if type(params) is dict else dict(params or {})
        try:
            try:
                return self.connection.execute(sql, bound)
            except sqlite3.ProgrammingError:
                if not bound:
                    raise
                # A value of a subclass (of datetime, dict or list): the driver looks adapters
                # up by exact type.
                return self.connection.execute(sql, _sqlite_params(bound))
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from None

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return self._run(sql, params).rowcount

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.all(sql, params)  # fetch all: a statement left open blocks COMMIT
        return rows[0] if rows else None

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = self._run(sql, params)
        names = _names(cursor)
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _names(cursor: sqlite3.Cursor) -> list[str]:
    return [d[0] for d in cursor.description]


def _run_now(awaitable: Awaitable[T]) -> T:
    """Drive a coroutine that never suspends (SQLite statements complete at once) to its end."""
    coroutine = awaitable.__await__()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a write unit waited on something other than its own statements")


class SqliteDatabase(SqlDatabase):
    """One connection on the event loop's thread; writes group-committed (module docstring).

    A batch commits on the loop (microseconds: with ``synchronous=NORMAL`` SQLite writes the WAL
    but does not wait for the disk), then one ``fsync`` of the WAL file, by a helper process
    (app/storage/wal_sync.py), makes every transaction committed so far durable before any of
    their callers is answered — what ``synchronous=FULL`` guarantees, without holding the event
    loop for the disk, and shared by every commit that lands while the previous ``fsync`` runs.
    """

    dialect = "sqlite"
    BUSY_RETRY_SECONDS = 0.002
    # Under load a batch writes some 25 pages, so about SQLite's own 1,000 pages between
    # checkpoints; a quiet server's WAL stays smaller.
    CHECKPOINT_EVERY_COMMITS = 40

    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        # busy_timeout 0: another connection's write lock (the ORM's, a CLI process) must never
        # block the event loop; we wait for it asynchronously instead.
        self.connection = _connect(path, busy_timeout=0)
        # Checkpoints are ours to start, off the loop's thread (``_checkpoint``).
        self.connection.execute("PRAGMA wal_autocheckpoint=0")
        self.wal = f"{path}-wal"
        self.busy_timeout = busy_timeout
        self._tx = _SqliteTx(self.connection)
        self._queue: list[tuple[WriteUnit[Any], asyncio.Future[Any], bool]] = []
        self._flushing = False
        self._unsynced: list[tuple[asyncio.Future[Any], bool, Any]] = []
        self._syncer: asyncio.Task[None] | None = None
        self.wal_sync = WalSyncer(self.wal)
        self._commits = 0  # since the last checkpoint
        self._checkpointing = False

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._tx.one(sql, params)

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._tx.all(sql, params)

    async def write(self, unit: WriteUnit[T], *, durable: bool = True) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((unit, future, durable))
        self._schedule_flush(loop)
        return await future

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._flushing and not self._checkpointing:
            self._flushing = True
            loop.call_soon(self._flush, loop.time() + self.busy_timeout)

    def _flush(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if self._checkpointing:  # the batch waits for it (``_checkpoint``)
            self._flushing = False
            return
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # locked by another connection: wait, no block
            if loop.time() < deadline and "locked" in str(exc):
                loop.call_later(self.BUSY_RETRY_SECONDS, self._flush, deadline)
                return
            batch, self._queue, self._flushing = self._queue, [], False
            _settle([(future, False, exc) for _, future, _ in batch])
            return
        batch, self._queue, self._flushing = self._queue, [], False
        durable = {future for _, future, wanted in batch if wanted}
        try:
            outcomes = self._run_batch(batch)
            self.connection.execute("COMMIT")
            self._commits += 1
        except sqlite3.Error as exc:  # the transaction as a whole failed (disk full, I/O error)
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")
            outcomes = [(future, False, exc) for _, future, _ in batch]
        # Nobody who asked for durability is answered before the WAL holding their commit is on
        # the disk; the others are answered now.
        now = [o for o in outcomes if o[0] not in durable]
        self._unsynced.extend(o for o in outcomes if o[0] in durable)
        _settle(now)
        if self._syncer is None and (self._unsynced or self._checkpoint_due()):
            self._syncer = loop.create_task(self._sync())

    def _run_batch(
        self, batch: list[tuple[WriteUnit[Any], asyncio.Future[Any], bool]]
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        """Each unit in its own savepoint: one that fails rolls back alone."""
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        for unit, future, _ in batch:
            self.connection.execute("SAVEPOINT unit")
            try:
                value = _run_now(unit(self._tx))
            except Exception as exc:  # handed to the caller
                self.connection.execute("ROLLBACK TO unit")
                self.connection.execute("RELEASE unit")
                outcomes.append((future, False, exc))
                continue
            self.connection.execute("RELEASE unit")
            outcomes.append((future, True, value))
        return outcomes

    async def _sync(self) -> None:
        try:
            while self._unsynced or self._checkpoint_due():
                waiting, self._unsynced = self._unsynced, []
                try:
                    if self._checkpoint_due():
                        await self._checkpoint()
                    else:
                        await self.wal_sync.sync()
                except OSError as exc:
                    waiting = [(future, False, exc) for future, _, _ in waiting]
                _settle(waiting)
        finally:
            self._syncer = None

    def _checkpoint_due(self) -> bool:
        # Counted in commits, not pages, which SQLite does not tell; commits that wait for no
        # sync (an outbox lease) count too, so that a WAL written only by them is checkpointed.
        return self._commits >= self.CHECKPOINT_EVERY_COMMITS

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database file and sync the WAL, by the helper. No batch commits
        meanwhile: one that did would keep the checkpoint from reaching the WAL's end, and the
        WAL from starting over at its beginning, so it would grow. The loop goes on meanwhile;
        new write units wait in the queue and commit together once it is done."""
        self._checkpointing, self._commits = True, 0
        try:
            if not await self.wal_sync.checkpoint():  # no helper: here, as SQLite itself would
                with contextlib.suppress(sqlite3.Error):
                    self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                await self.wal_sync.sync()
        finally:
            self._checkpointing = False
            if self._queue:
                self._schedule_flush(asyncio.get_running_loop())

    async def close(self) -> None:
        if self._syncer is not None:
            await self._syncer
        await self.wal_sync.close()
        self.connection.close()


def _connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    # isolation_level None: we say BEGIN and COMMIT ourselves. synchronous NORMAL: the WAL is
    # synced by SqliteDatabase._sync (and by SQLite at checkpoints), not at every COMMIT.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return connection


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.done():  # the caller was cancelled meanwhile
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


# --- PostgreSQL --------------------------------------------------------------------------------

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


def _pg_sql(sql: str, _cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    converted = _cache.get(sql)
    if converted is None:
        converted = _cache[sql] = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
    return converted


def _pg_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _naive_utc(value)
    if isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value


# Values the driver takes as they are; checked by exact type first because a new request binds
# some thirty values and most are plain.
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})


def _pg_params(params: Params | None) -> dict[str, Any]:
    return {k: v if type(v) in _PLAIN else _pg_value(v) for k, v in (params or {}).items()}


class _PgTx:
    dialect = "postgresql"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def _run(self, sql: str, params: Params | None) -> Any:
        import psycopg

        try:
            return await self.connection.execute(_pg_sql(sql), _pg_params(params))
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityViolation(str(exc)) from None

    async def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = await self._run(sql, params)
        return int(cursor.rowcount)

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        cursor = await self._run(sql, params)
        row = await cursor.fetchone()
        return None if row is None else dict(row)

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = await self._run(sql, params)
        return [dict(row) for row in await cursor.fetchall()]


POOL_WAIT_SECONDS = 5.0


class PostgresDatabase(SqlDatabase):
    dialect = "postgresql"

    def __init__(self, conninfo: str, *, size: int) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=size,
            max_size=size,
            open=False,
            # How long a request waits for a connection (psycopg's default is 30 s). While the
            # database is down the pool has none to give: the request then fails in seconds and
            # is answered 503 (app/storage/outage.py) instead of hanging.
            timeout=POOL_WAIT_SECONDS,
            kwargs={"row_factory": dict_row, "autocommit": True},
        )

        self._opened = False

    async def open(self) -> None:
        if not self._opened:
            self._opened = True
            await self.pool.open(wait=True, timeout=30)

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        await self.open()
        async with self.pool.connection() as connection:
            return await _PgTx(connection).one(sql, params)

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        await self.open()
        async with self.pool.connection() as connection:
            return await _PgTx(connection).all(sql, params)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        # One statement is atomic by itself: no BEGIN and COMMIT round trips around it.
        await self.open()
        async with self.pool.connection() as connection:
            return await _PgTx(connection).execute(sql, params)

    async def write(self, unit: WriteUnit[T], *, durable: bool = True) -> T:
        await self.open()
        async with self.pool.connection() as connection, connection.transaction():
            if not durable:
                await connection.execute("SET LOCAL synchronous_commit = off")
            return await unit(_PgTx(connection))

    async def close(self) -> None:
        if self._opened:
            await self.pool.close()


def libpq_url(url: str) -> str:
    """A PostgreSQL SQLAlchemy URL as a libpq URI, for plain psycopg connections."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str, *, pool_size: int = 10) -> SqlDatabase:
    """The hot paths' database for a SQLAlchemy URL (PostgreSQL's pool opens on first use)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteDatabase(parsed.database or ":memory:")
    return PostgresDatabase(libpq_url(url), size=pool_size)


def placeholders(names: Iterable[str]) -> str:
    """``:a, :b, :c`` for an INSERT's VALUES."""
    return ", ".join(f":{name}" for name in names)


class SessionTx:
    """A write unit's statements inside an ORM session's transaction, for the few moves whose
    callers also stage ORM work (token minting) in the same transaction."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name

    def _params(self, params: Params | None) -> dict[str, Any]:
        if self.dialect == "sqlite":
            return _sqlite_params(params)
        return _pg_params(params)

    async def _run(self, sql: str, params: Params | None) -> Any:
        from sqlalchemy import text

        connection = await self.session.connection()
        return await connection.execute(text(sql), self._params(params))

    async def execute(self, sql: str, params: Params | None = None) -> int:
        return int((await self._run(sql, params)).rowcount)

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        return [dict(row._mapping) for row in await self._run(sql, params)]
