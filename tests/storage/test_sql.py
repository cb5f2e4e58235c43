"""The hot paths' SQL runner (app/storage/sql.py) on a real SQLite file: group commit, a unit
that fails rolls back alone, and a batch that fails as a whole answers every caller."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.storage.sql import IntegrityViolation, SqliteDatabase, Tx


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
