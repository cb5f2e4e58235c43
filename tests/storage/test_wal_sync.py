"""The WAL's sync from a helper process (app/storage/wal_sync.py): it answers each sync, reports
what the disk refused, survives the signals a shutdown sends its group, and when it is gone the
sync still happens (on a thread, then with a new helper). It checkpoints the WAL too, with no
batch committing meanwhile, and without it the WAL is checkpointed all the same."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from pathlib import Path

import pytest

from app.storage.sql import SqliteDatabase, Tx
from app.storage.wal_sync import WalSyncer


@pytest.fixture
async def syncer(tmp_path: Path):
    path = tmp_path / "db-wal"
    path.write_bytes(b"frames")
    syncer = WalSyncer(str(path))
    yield syncer
    await syncer.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_durable_write_is_synced_by_a_helper_process(tmp_path: Path):
    db = SqliteDatabase(str(tmp_path / "app.db"))
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    helper = db.wal_sync.helper
    assert helper is not None and helper.poll() is None
    assert helper.args[-1] == str(tmp_path / "app.db-wal")  # it syncs this database's WAL
    await db.close()
    assert helper.returncode == 0  # ended by the end of its input, and reaped


async def test_each_sync_is_answered_by_the_same_helper(syncer: WalSyncer):
    await syncer.sync()
    assert syncer.helper is not None
    pid = syncer.helper.pid
    for _ in range(3):
        await syncer.sync()
    assert syncer.helper.pid == pid


async def test_what_the_disk_refuses_is_an_error_and_the_helper_goes_on(syncer: WalSyncer):
    os.remove(syncer.path)
    with pytest.raises(OSError) as refused:
        await syncer.sync()
    assert refused.value.errno == errno.ENOENT
    assert syncer.helper is not None and syncer.helper.poll() is None
    Path(syncer.path).write_bytes(b"frames")
    await syncer.sync()


async def test_the_signals_of_a_shutdown_do_not_end_it(syncer: WalSyncer):
    await syncer.sync()
    assert syncer.helper is not None
    for sent in (signal.SIGINT, signal.SIGTERM):
        os.kill(syncer.helper.pid, sent)
    await syncer.sync()
    assert syncer.helper is not None and syncer.helper.poll() is None


async def test_a_killed_helper_costs_no_sync(syncer: WalSyncer):
    await syncer.sync()
    assert syncer.helper is not None
    killed = syncer.helper
    killed.kill()
    killed.wait()
    await syncer.sync()  # on a thread: no error reaches the callers
    await syncer.sync()  # and then by a new helper
    assert syncer.helper is not None and syncer.helper.pid != killed.pid
    assert _alive(syncer.helper.pid)


async def test_close_ends_the_helper(tmp_path: Path):
    path = tmp_path / "db-wal"
    path.write_bytes(b"")
    syncer = WalSyncer(str(path))
    await syncer.sync()
    helper = syncer.helper
    assert helper is not None
    await syncer.close()
    assert helper.returncode == 0 and not _alive(helper.pid)


async def _commits(db: SqliteDatabase, count: int) -> None:
    for i in range(count):
        await db.execute("INSERT INTO t (v) VALUES (:v)", {"v": f"{i:04}" * 500})


@pytest.fixture
async def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(SqliteDatabase, "CHECKPOINT_EVERY_COMMITS", 5)
    db = SqliteDatabase(str(tmp_path / "app.db"))
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield db
    await db.close()


async def test_the_helper_checkpoints_the_wal_not_the_loop(db: SqliteDatabase):
    """SQLite's own checkpoint (every 1,000 pages, in a commit on the loop's thread) is off; the
    helper copies the WAL into the database file every few commits."""
    assert db.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    before = os.path.getsize(db.wal.removesuffix("-wal"))
    await _commits(db, 12)
    assert os.path.getsize(db.wal.removesuffix("-wal")) > before + 4 * 2000  # the rows' pages
    assert db.wal_sync.helper is not None and db.wal_sync.helper.poll() is None


async def test_without_a_helper_the_wal_is_checkpointed_all_the_same(
    db: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
):
    await db.wal_sync.close()  # the helper that created the table ends,
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # and no other can start
    before = os.path.getsize(db.wal.removesuffix("-wal"))
    await _commits(db, 12)
    assert db.wal_sync.helper is None
    assert os.path.getsize(db.wal.removesuffix("-wal")) > before + 4 * 2000
    rows = await db.all("SELECT count(*) AS n FROM t")
    assert rows[0]["n"] == 12


async def test_writes_handed_in_during_a_checkpoint_commit_after_it(db: SqliteDatabase):
    """A batch committed during the checkpoint would keep it from reaching the WAL's end."""
    committed_while_checkpointing = []

    async def unit(tx: Tx) -> int:
        committed_while_checkpointing.append(db._checkpointing)
        return await tx.execute("INSERT INTO t (v) VALUES ('during')")

    checkpoint = asyncio.create_task(db._checkpoint())
    await asyncio.sleep(0)  # it has begun
    assert db._checkpointing
    results = await asyncio.gather(*(db.write(unit) for _ in range(3)))
    await checkpoint
    assert results == [1, 1, 1]
    assert committed_while_checkpointing == [False, False, False]


async def test_commits_that_wait_for_no_sync_are_checkpointed_too(db: SqliteDatabase):
    async def unit(tx: Tx) -> int:
        return await tx.execute("INSERT INTO t (v) VALUES (:v)", {"v": "lease" * 800})

    before = os.path.getsize(db.wal.removesuffix("-wal"))
    for _ in range(12):
        await db.write(unit, durable=False)
    for _ in range(50):  # the checkpoint runs after the answers, as a sync would
        if os.path.getsize(db.wal.removesuffix("-wal")) > before + 4 * 2000:
            break
        await asyncio.sleep(0.01)
    assert os.path.getsize(db.wal.removesuffix("-wal")) > before + 4 * 2000
