"""A reference headless client (``backchannel headless-login``): the quickest way to watch the
flow work, and a readable example for integrators. Progress and the QR code go to stderr; the
token response goes to stdout as JSON."""

from __future__ import annotations

import io
import json
import sys
from typing import Any, TextIO

import websockets


def websocket_url(issuer: str) -> str:
    return issuer.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/headless"


async def headless_login(
    issuer: str, start: dict[str, Any], *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Run one login; returns the exit status (0 with tokens, 1 otherwise)."""
    try:
        return await _login(issuer, start, out, err)
    except (OSError, websockets.WebSocketException) as exc:
        err.write(f"connection failed: {exc}\n")
        return 1


class QrScreen:
    """Shows the rotating code. On a terminal each new code is drawn over the last one (a 25-line
    QR reprinted every rotation would scroll the screen away); elsewhere — a log, a pipe — only
    the URL is written, once per code, since nobody scans a file."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.terminal = err.isatty()
        self.drawn = 0  # lines of the code currently on screen

    def show(self, uri: str) -> None:
        if not self.terminal:
            self.err.write(uri + "\n")
            return
        import segno

        drawing = io.StringIO()
        segno.make(uri, error="m").terminal(out=drawing, compact=True)
        text = drawing.getvalue() + uri + "\n"
        if self.drawn:  # back to the top of the previous code, and clear to the end of screen
            self.err.write(f"\x1b[{self.drawn}F\x1b[J")
        self.err.write(text)
        self.drawn = text.count("\n")


async def _login(issuer: str, start: dict[str, Any], out: TextIO, err: TextIO) -> int:
    screen = QrScreen(err)
    async with websockets.connect(websocket_url(issuer)) as ws:
        await ws.send(json.dumps({"type": "start", **start}))
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "pending":
                err.write(f"auth_req_id {frame['auth_req_id']} (redeemable at /token)\n")
                err.write(f"waiting for approval (expires in {frame['expires_in']} s)\n")
            err.flush()
            if kind == "pending" and "qr_uri" in frame:
                err.write("scan with an enrolled authenticator (or open the URL on it):\n")
            if kind in ("pending", "qr") and "qr_uri" in frame:
                screen.show(frame["qr_uri"])
                err.flush()
            elif kind == "scanned":
                err.write("scanned: approve on the phone\n")
            elif kind == "tokens":
                out.write(json.dumps({k: v for k, v in frame.items() if k != "type"}, indent=2))
                out.write("\n")
                return 0
            elif kind in ("error", "cancelled"):
                err.write(f"{frame.get('error', kind)}: {frame.get('error_description', '')}\n")
                return 1
    err.write("the server closed the connection\n")
    return 1
