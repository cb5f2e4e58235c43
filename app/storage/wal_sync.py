"""Making SQLite's WAL durable without holding the event loop: an ``fdatasync`` done by a helper
process, answered through a pipe the loop reads like any socket.

The group commit (app/storage/sql.py) answers its callers only once the WAL holding their
commit is on the disk. The sync takes 0.2 to 1 ms, so the loop cannot make it itself. It used to
run on a thread, and that thread cost the loop's thread about a tenth of its time under load
(docs/performance.md): a thread returning from ``fdatasync`` must take the GIL back, and the
loop's thread, busy, releases the GIL around every SQLite call and takes it straight back. Each
release woke the waiting thread (a futex call and, in a virtual machine, an interrupt to the
other CPU), which then found the GIL taken again and went back to sleep: some 4,000 wake-ups a
second for 300 syncs. A helper process shares no GIL: the loop writes one byte to its pipe, the
helper syncs the file and writes back one byte, 0 or the errno of the failure.

``fdatasync`` applies to the file, not to the descriptor it is called on, so a sync in another
process covers what this one wrote. Should the helper be gone (killed, or never started), the
sync runs on a thread as before: durability never depends on the helper.

The helper also checkpoints the WAL (copies its pages into the database file) when asked, which
SQLite would otherwise do inside a commit on the loop's thread every 1,000 pages, holding the
loop for the copy and two fsyncs (``SqliteDatabase._checkpoint`` says when).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

# The helper: per byte read, "s" a sync of the WAL, "c" a checkpoint (the WAL's pages copied into
# the database file; PASSIVE: it never waits for a lock) and then that sync; one status byte
# written back, 0 or the sync's errno. A checkpoint that fails (the database busy) is skipped:
# the next one copies what it left. It ends when its input does (this process closed the pipe,
# or died). It ignores SIGINT and SIGTERM, which a terminal or a service manager sends to every
# process of the group: it must outlive this process's graceful shutdown, whose last commits it
# still syncs.
HELPER = """
import os, signal, sqlite3, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
path = sys.argv[1]
database = None
while asked := os.read(0, 1):
    if asked == b"c":
        try:
            if database is None:
                database = sqlite3.connect(path.removesuffix("-wal"), isolation_level=None)
            database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        status = 0
    except OSError as exc:
        status = exc.errno if exc.errno and exc.errno < 256 else 5
    os.write(1, bytes([status]))
"""


class HelperGone(Exception):
    """The helper ended before answering."""


def fdatasync(path: str) -> None:
    """The file's data on the disk, with what reading it back needs (its size): ``fdatasync``,
    as SQLite's own ``synchronous=FULL`` does on Linux; it skips the timestamps that ``fsync``
    also writes. ``HELPER`` repeats these lines, as it must: it runs isolated (``-I -S``) and
    cannot import this module. Change one, change both."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


class WalSyncer:
    """Syncs one database's WAL, one request at a time (the caller awaits each before the
    next), and checkpoints it on request."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.helper: subprocess.Popen[bytes] | None = None
        self._answer: asyncio.Future[int] | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None

    async def sync(self) -> None:
        """Raises ``OSError`` when the disk refuses the sync."""
        if not await self._by_helper(b"s"):
            await self._on_thread()

    async def checkpoint(self) -> bool:
        """Checkpoint the WAL and sync it, by the helper; False, with nothing done, when there is
        no helper (the caller checkpoints as it can). Raises ``OSError`` as ``sync`` does."""
        return await self._by_helper(b"c")

    async def _by_helper(self, asked: bytes) -> bool:
        loop = asyncio.get_running_loop()
        if self.helper is None:
            self._start(loop)
        if self.helper is None:
            return False
        try:
            status = await self._ask(self.helper, loop, asked)
        except HelperGone:  # whether it did its work before it ended is unknown: do it again
            return False
        if status:
            raise OSError(status, os.strerror(status), self.path)
        return True

    async def _on_thread(self) -> None:
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = concurrent.futures.ThreadPoolExecutor(1, "sqlite-fsync")
        await loop.run_in_executor(self._thread, fdatasync, self.path)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            helper = subprocess.Popen(  # noqa: S603 - this interpreter, our code, our path
                [sys.executable, "-I", "-S", "-c", HELPER, self.path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except OSError as exc:
            log.warning("the WAL sync helper did not start (%s); syncing on a thread", exc)
            return
        assert helper.stdout is not None
        os.set_blocking(helper.stdout.fileno(), False)
        loop.add_reader(helper.stdout.fileno(), self._read, helper)
        self.helper = helper

    async def _ask(
        self, helper: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop, asked: bytes
    ) -> int:
        assert helper.stdin is not None
        self._answer = answer = loop.create_future()
        try:
            os.write(helper.stdin.fileno(), asked)
        except OSError:  # EPIPE: it is gone
            raise HelperGone from None
        try:
            return await answer
        except asyncio.CancelledError:
            # Its answer would come to the next sync, before that sync is done: start afresh.
            self._stop(loop)
            raise
        finally:
            self._answer = None

    def _read(self, helper: subprocess.Popen[bytes]) -> None:
        assert helper.stdout is not None
        try:
            data = os.read(helper.stdout.fileno(), 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        answer = self._answer
        if not data:  # end of file: the helper ended
            log.warning("the WAL sync helper ended; the next sync starts another")
            self._stop(asyncio.get_running_loop())
            if answer is not None and not answer.done():
                answer.set_exception(HelperGone())
            return
        if answer is not None and not answer.done():
            answer.set_result(data[-1])

    def _stop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close its input, which ends it, and reap it (at once: it exits on end of input)."""
        helper, self.helper = self.helper, None
        if helper is None:
            return
        assert helper.stdin is not None and helper.stdout is not None
        loop.remove_reader(helper.stdout.fileno())
        with contextlib.suppress(OSError):
            helper.stdin.close()  # its end of input: it exits
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        helper.stdout.close()

    async def close(self) -> None:
        self._stop(asyncio.get_running_loop())
        if self._thread is not None:
            self._thread.shutdown(wait=True)
