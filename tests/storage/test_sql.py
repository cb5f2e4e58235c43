"""The hot paths' SQL runner (app/storage/sql.py) on a real SQLite file: group commit, a unit
that fails rolls back alone, and a batch that fails as a whole answers every caller."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.storage.sql import Codec, IntegrityViolation, SqliteDatabase, Tx, _sqlite_json


@pytest.fixture
async def sql(tmp_path: Path):
    db = SqliteDatabase(str(tmp_path / "runner.db"))
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield db
    await db.close()


async def test_units_handed_in_together_commit_together_and_a_failing_one_alone(sql):
    def insert(i: int):
        async def unit(tx: Tx) -> int:
            return await tx.execute("INSERT INTO t (id, v) VALUES (:id, :v)", {"id": i, "v": "x"})

        return unit

    results = await asyncio.gather(
        *(sql.write(insert(i)) for i in (1, 2, 2, 3)), return_exceptions=True
    )
    assert results[0] == 1 and results[1] == 1 and results[3] == 1
    assert isinstance(results[2], IntegrityViolation)  # the duplicate, rolled back alone
    rows = await sql.all("SELECT id FROM t ORDER BY id")
    assert [r["id"] for r in rows] == [1, 2, 3]
    # What was answered is on the disk: another connection reads it.
    other = sqlite3.connect(sql.wal.removesuffix("-wal"))
    assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 3
    other.close()


async def test_a_batch_that_fails_as_a_whole_answers_every_caller(sql):
    async def breaks_the_transaction(tx: Tx) -> None:
        await tx.execute("COMMIT")  # ends the batch's transaction under the runner

    async def fine(tx: Tx) -> int:
        return await tx.execute("INSERT INTO t (id, v) VALUES (9, 'y')")

    results = await asyncio.wait_for(
        asyncio.gather(sql.write(breaks_the_transaction), sql.write(fine), return_exceptions=True),
        timeout=5,
    )
    assert all(isinstance(r, sqlite3.Error) for r in results), results
    # The runner is usable afterwards.
    assert await sql.execute("INSERT INTO t (id, v) VALUES (10, 'z')") == 1


@pytest.mark.parametrize(
    "value",
    [
        {"amount": "42.10", "nested": [1, 2.5, None, True, "é€"]},
        [2**63 - 1, -(2**63), 2**64 + 1, 123456789012345678901234567890],  # past 64 bits
        {"ratio": 0.1 + 0.2, "tiny": 5e-324, "huge": 1.7976931348623157e308},
        {"inf": float("inf"), "minus_inf": float("-inf")},
    ],
)
def test_a_json_column_reads_back_exactly_what_was_written(value):
    """JSON columns are read by orjson where it reads the same values, by the standard library
    (which wrote them) elsewhere: an amount or an integer never comes back changed."""
    written = _sqlite_json(value)
    read = Codec.decode(_OneJson(), {"v": written})["v"]
    assert read == value and repr(read) == repr(value)


class _OneJson:
    datetimes: frozenset[str] = frozenset()
    jsons = frozenset({"v"})
    bools: frozenset[str] = frozenset()


class _Registration(dict):  # a subclass: the driver's adapters match exact types only
    pass


class _Moment(datetime):
    pass


async def test_values_are_stored_in_one_format_whatever_their_type(sql):
    """Aware datetimes become naive UTC text with six fractional digits (the ORM's format, so
    SQL compares them as text), dicts and lists JSON; subclasses of those the same way."""
    await sql.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, at TEXT, doc TEXT, items TEXT)")
    plus_two = timezone(timedelta(hours=2))
    rows = [
        (datetime(2026, 12, 2, 13, 0, 5, tzinfo=UTC), {"a": 1}, [1, "x"]),
        (datetime(2026, 12, 2, 15, 0, 5, 120, tzinfo=plus_two), _Registration(b=[2]), []),
        (_Moment(2026, 12, 2, 13, 0, 5, tzinfo=UTC), OrderedDict(c=None), ["é"]),
        (datetime(2026, 12, 2, 13, 0, 5, 7, tzinfo=UTC), {}, []),
    ]
    for i, (at, doc, items) in enumerate(rows):
        params = {"id": i, "at": at, "doc": doc, "items": items}
        await sql.execute("INSERT INTO v VALUES (:id, :at, :doc, :items)", params)
    stored = await sql.all("SELECT at, doc, items FROM v ORDER BY id")
    assert [r["at"] for r in stored] == [
        "2026-12-02 13:00:05.000000",
        "2026-12-02 13:00:05.000120",
        "2026-12-02 13:00:05.000000",
        "2026-12-02 13:00:05.000007",
    ]
    assert [json.loads(r["doc"]) for r in stored] == [{"a": 1}, {"b": [2]}, {"c": None}, {}]
    assert [json.loads(r["items"]) for r in stored] == [[1, "x"], [], ["é"], []]


async def test_a_naive_datetime_is_refused_and_nothing_is_written(sql):
    with pytest.raises(ValueError, match="naive"):
        await sql.execute("INSERT INTO t (id, v) VALUES (1, :v)", {"v": datetime(2026, 1, 1)})
    assert await sql.all("SELECT id FROM t") == []


class _Times:
    datetimes = frozenset({"at", "later", "never", "absent"})
    jsons: frozenset[str] = frozenset()
    bools: frozenset[str] = frozenset()


def test_stored_times_come_back_aware_utc_whatever_shape_the_driver_hands():
    row = {
        "at": "2026-12-02 13:00:05.000120",  # SQLite's text, naive UTC
        "later": datetime(2026, 12, 2, 13, 0, 6),  # PostgreSQL's naive datetime
        "never": None,
    }
    decoded = Codec.decode(_Times(), row)
    assert decoded == {
        "at": datetime(2026, 12, 2, 13, 0, 5, 120, tzinfo=UTC),
        "later": datetime(2026, 12, 2, 13, 0, 6, tzinfo=UTC),
        "never": None,
    }
    assert decoded["at"].tzinfo is UTC and decoded["later"].tzinfo is UTC
    # Text that names its zone already (written by hand, say) is read as UTC all the same.
    zoned = Codec.decode(_Times(), {"at": "2026-12-02T13:00:05+00:00"})
    assert zoned == {"at": datetime(2026, 12, 2, 13, 0, 5, tzinfo=UTC)}
