"""The rotating QR code of an open request (one no hint addressed to a user).

Like BankID's animated QR, the payload changes every few seconds: it carries a time step and an
HMAC of the request id and that step under a per-request secret. A photo of the code, or a code
relayed to a victim's phone, goes stale within one or two periods; only the current and the
previous step are accepted. The payload is an https URL on the issuer, so a phone without the
app lands on the web authenticator.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from app.decoupled.models import AuthRequest
from app.keys.crypto import b64url

_PAYLOAD = re.compile(r"/qr/([A-Za-z0-9_-]{8,64})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


class QrCodes:
    def __init__(self, issuer: str, period: float) -> None:
        self.issuer = issuer
        self.period = period

    def step(self, now: float | None = None) -> int:
        return int((now if now is not None else time.time()) // self.period)

    def uri(self, request: AuthRequest, now: float | None = None) -> str:
        step = self.step(now)
        return f"{self.issuer}/qr/{request.id}.{step}.{self._mac(request, step)}"

    @staticmethod
    def request_id(uri: str) -> str | None:
        """The request a payload names, or None when it is not one of ours in shape."""
        match = _PAYLOAD.search(uri)
        return match.group(1) if match else None

    def is_fresh(self, request: AuthRequest, uri: str, now: float | None = None) -> bool:
        match = _PAYLOAD.search(uri)
        if (
            match is None
            or match.group(1) != request.id
            or not uri.startswith(self.issuer + "/qr/")
        ):
            return False
        step = int(match.group(2))
        if step not in (self.step(now), self.step(now) - 1):
            return False
        return hmac.compare_digest(match.group(3), self._mac(request, step))

    @staticmethod
    def _mac(request: AuthRequest, step: int) -> str:
        assert request.qr_secret, "only open requests have a QR code"
        message = f"{request.id}.{step}".encode()
        return b64url(
            hmac.new(bytes.fromhex(request.qr_secret), message, hashlib.sha256).digest()[:16]
        )
