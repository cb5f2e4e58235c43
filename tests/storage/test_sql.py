"""The hot paths' SQL runner (app/storage/sql.py) on a real SQLite file: group commit, a unit
that fails rolls back alone, and a batch that fails as a whole answers every caller."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.storage.sql import Codec, IntegrityViolation, SqliteDatabase, Tx, _sqlite_value


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
    written = _sqlite_value(value)
    read = Codec.decode(_OneJson(), {"v": written})["v"]
    assert read == value and repr(read) == repr(value)


class _OneJson:
    datetimes: frozenset[str] = frozenset()
    jsons = frozenset({"v"})
    bools: frozenset[str] = frozenset()
