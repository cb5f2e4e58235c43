"""Subject identifiers (OpenID Core §8): ``public`` or ``pairwise`` per sector.

A pairwise ``sub`` is HMAC-SHA256(secret, sector || user id): stable for one sector, unlinkable
across sectors, and not reversible without the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from app.clients.models import Client
from app.keys.crypto import b64url


class SubjectService:
    def __init__(self, pairwise_secret: bytes) -> None:
        self._secret = pairwise_secret

    def subject(self, user_id: str, client: Client) -> str:
        """The ``sub`` this client sees for this user."""
        if client.registration.get("subject_type") != "pairwise":
            return user_id
        return self.pairwise(user_id, client.registration["sector_identifier"])

    def pairwise(self, user_id: str, sector: str) -> str:
        message = sector.encode() + b"\x00" + user_id.encode()
        return b64url(hmac.new(self._secret, message, hashlib.sha256).digest())
