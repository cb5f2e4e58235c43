"""`backchannel serve` in a process of its own, started and stopped around a block."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

BIN = Path(sys.executable).parent / "backchannel"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    """This process's environment without any ``BACKCHANNEL_`` setting: a server started with it
    has only the settings its test or bench adds."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}


@contextmanager
def served_process(
    env: dict[str, str], port: int, output: IO[Any] | None = None, *options: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the server on ``port`` with ``env`` (and more ``serve`` options); yields once
    /healthz answers."""
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *options], env=env, stdout=output, stderr=output
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)
