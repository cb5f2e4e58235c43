"""What the benchmarks share: a `backchannel serve` process, on a fresh SQLite file (or on
BACKCHANNEL_DATABASE_URL if set), with the given extra settings; figures printed alike."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.process import free_port, served_process, server_env

CIBA = "urn:openid:params:grant-type:ciba"
ADMIN = "bench-admin-token-0123456789abcdefghijklmnop"


@contextmanager
def server(settings: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder = tempfile.mkdtemp(prefix="bench-")
    database = os.environ.get("BACKCHANNEL_DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    env = server_env()
    env.update(
        BACKCHANNEL_ISSUER=url,
        BACKCHANNEL_DATABASE_URL=database,
        BACKCHANNEL_ADMIN_TOKEN=ADMIN,
        BACKCHANNEL_LOG_LEVEL="WARNING",
        **settings,
    )
    with served_process(env, port) as proc:
        print(f"server {url}, database {database}")
        yield url, proc


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(label: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, round(p * (len(ms) - 1)))]

    print(
        f"{label:<34} p50 {statistics.median(ms):7.1f} ms   p95 {pct(0.95):7.1f} ms   "
        f"p99 {pct(0.99):7.1f} ms   max {ms[-1]:7.1f} ms   (n={len(ms)})"
    )
