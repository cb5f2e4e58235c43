"""PKCE (RFC 7636): the challenge at /authorize, the verifier at /token.

``S256`` only, unless ``pkce_allow_plain`` is set: with ``plain`` the challenge is the verifier,
so whoever sees the authorization request (a log, a referrer) could redeem the code.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from app.errors import InvalidGrant, InvalidRequest
from app.keys.crypto import b64url
from app.settings import Settings

# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
S256 = "S256"
PLAIN = "plain"


def methods_supported(settings: Settings) -> list[str]:
    return [S256, PLAIN] if settings.pkce_allow_plain else [S256]


def check_challenge(
    challenge: str | None, method: str | None, *, required: bool, settings: Settings
) -> tuple[str | None, str | None]:
    """The (challenge, method) to keep with the code. Public clients must send one (RFC 9700
    §2.1.1); a challenge without a method means ``plain`` (RFC 7636 §4.3)."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if required:
            raise InvalidRequest("public clients must use PKCE: code_challenge is required")
        return None, None
    method = method or PLAIN
    if method not in methods_supported(settings):
        raise InvalidRequest(
            f"code_challenge_method must be {' or '.join(methods_supported(settings))}"
        )
    # Same alphabet as the verifier; S256 is a base64url SHA-256, exactly 43 characters.
    if not VERIFIER.match(challenge) or (method == S256 and len(challenge) != 43):
        raise InvalidRequest("code_challenge is malformed")
    return challenge, method


def verify(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """RFC 7636 §4.6; and a verifier for a code issued without a challenge is refused too
    (RFC 9700 §4.8.2: it would mask a PKCE downgrade)."""
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent for a code issued without code_challenge")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required")
    if not VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is malformed")
    computed = b64url(hashlib.sha256(verifier.encode()).digest()) if method == S256 else verifier
    if not hmac.compare_digest(computed, challenge):
        raise InvalidGrant("code_verifier does not match code_challenge")
