"""Left-half token hashes: ``at_hash``, ``c_hash``, ``rt_hash`` (OpenID Core §3.1.3.6, §3.3.2.11).

The hash is the one of the ID token's signing algorithm: SHA-256 for ES256/PS256/RS256, and
SHA-512 for EdDSA with Ed25519, as OpenID's rules and node-oidc-provider settle it.
"""

from __future__ import annotations

import hashlib

from app.keys.crypto import b64url

_HASHES = {
    "EdDSA": hashlib.sha512,
    "ES256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "RS256": hashlib.sha256,
}


def token_hash(value: str, alg: str) -> str:
    digest = _HASHES[alg](value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])
