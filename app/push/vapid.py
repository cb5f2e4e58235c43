"""The server's VAPID key (RFC 8292): it signs every Web Push request, and browsers subscribe
with its public half (``applicationServerKey``), so a push service accepts pushes for a
subscription only from this server.

Configured (``BACKCHANNEL_WEB_PUSH_VAPID_PRIVATE_KEY``) or generated on first start and kept
sealed among the server secrets, so every replica and every restart signs with the same key
and subscriptions stay valid.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.keys.encryption import SecretBox
from app.keys.secrets import server_secret
from app.settings import Settings
from app.storage.db import Database

SECRET_NAME = "vapid"


@dataclass(frozen=True)
class VapidKey:
    private_pem: bytes
    contact: str  # the JWT's ``sub`` (RFC 8292 §2.1)
    # The uncompressed P-256 point, base64url: the page's ``applicationServerKey`` and the ``k``
    # parameter of the Authorization header (RFC 8292 §3.2).
    public_key: str


def _public_key(pem: bytes) -> str:
    key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("BACKCHANNEL_WEB_PUSH_VAPID_PRIVATE_KEY must be a P-256 private key")
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def _new_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _contact(settings: Settings) -> str:
    if settings.web_push_contact:
        return settings.web_push_contact
    if urlsplit(settings.issuer).scheme == "https":
        return settings.issuer
    return "mailto:webpush@localhost"


async def vapid_key(db: Database, box: SecretBox, settings: Settings) -> VapidKey:
    configured = settings.web_push_vapid_private_key
    pem = (
        configured.get_secret_value().encode()
        if configured
        else await server_secret(db, box, SECRET_NAME, _new_pem)
    )
    return VapidKey(pem, _contact(settings), _public_key(pem))
