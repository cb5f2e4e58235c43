"""Server-provided DPoP nonces (RFC 9449 §8), without server state: a nonce is an HMAC of the
current time window under a secret every replica shares, so any replica accepts any replica's
nonce for two windows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from app.keys.secrets import server_secret
from app.settings import Settings

if TYPE_CHECKING:
    from app.services import Services

NAME = "dpop-nonce"
_secrets: dict[int, bytes] = {}  # per Services: read once from the shared table


async def secret(services: Services) -> bytes:
    key = id(services)
    if key not in _secrets:
        _secrets[key] = await server_secret(services.db, services.keys.box, NAME)
    return _secrets[key]


def current(secret: bytes, settings: Settings) -> str:
    return _nonce(secret, int(time.time()) // settings.dpop_nonce_seconds)


def is_fresh(secret: bytes, settings: Settings, nonce: object) -> bool:
    if not isinstance(nonce, str):
        return False
    window = int(time.time()) // settings.dpop_nonce_seconds
    return any(hmac.compare_digest(nonce, _nonce(secret, w)) for w in (window, window - 1))


def _nonce(secret: bytes, window: int) -> str:
    mac = hmac.new(secret, f"dpop-nonce:{window}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()
