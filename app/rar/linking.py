"""Dynamic linking: the hash that binds a phone's signed approval to the exact
``authorization_details`` it showed (PSD2 RTS Art. 5; RFC 9396 gives the content, this gives
the binding).

``authorization_details_hash`` = base64url, unpadded, of SHA-256 over the RFC 8785 (JCS)
canonical JSON of the request's ``authorization_details`` array, exactly as the device's request
view carried it. A decision JWT approving a request with details must carry it; the server
recomputes it from what the request holds, so a changed amount voids the approval.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785

HASH_CLAIM = "authorization_details_hash"


def details_hash(details: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(rfc8785.dumps(details)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
