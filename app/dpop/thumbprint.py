"""JWK thumbprints (RFC 7638): the ``jkt`` a DPoP-bound token names its key by."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

# RFC 7638 §3.2: only the required members, in lexicographic order.
REQUIRED = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in REQUIRED[jwk["kty"]]}
    text = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
