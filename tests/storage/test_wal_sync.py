"""The WAL's sync from a helper process (app/storage/wal_sync.py): it answers each sync, reports
what the disk refused, survives the signals a shutdown sends its group, and when it is gone the
sync still happens (on a thread, then with a new helper)."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest

from app.storage.sql import SqliteDatabase
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
