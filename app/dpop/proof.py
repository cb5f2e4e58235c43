"""Checking a DPoP proof JWT (RFC 9449 §4.3): the checks in the order the RFC lists them.

One proof per request: ``typ`` ``dpop+jwt``, an asymmetric ``alg`` we support, a public ``jwk``
in the header that verifies the signature, ``htm`` and ``htu`` naming this request, a fresh
``iat``, a ``jti`` never seen before (recorded in the shared single-use table, so a proof replayed
at another replica fails too), ``ath`` when an access token is presented, and the server's nonce
when ``dpop_nonce_required``. Returns the key's thumbprint, the ``jkt`` tokens are bound to.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK

from app import replay
from app.dpop import nonce
from app.errors import InvalidDpopProof, ResourceUseDpopNonce, UseDpopNonce
from app.keys.crypto import THUMBPRINT_MEMBERS, thumbprint

if TYPE_CHECKING:
    from app.services import Services

DPOP_ALGS = ("ES256", "PS256", "EdDSA", "RS256")
MAX_PROOF = 8192
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


async def verify_proof(
    services: Services,
    proof: str,
    method: str,
    url: str,
    *,
    access_token: str | None = None,
    error: type[Exception] = InvalidDpopProof,
) -> str:
    """The ``jkt`` of a valid proof for ``method`` ``url``; else ``error`` (``invalid_dpop_proof``
    at /token, ``invalid_token`` at a resource) or ``use_dpop_nonce``."""
    settings = services.settings
    if len(proof) > MAX_PROOF or "," in proof:  # RFC 9449 §4.3 item 1: exactly one proof
        raise error("send one DPoP proof")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise error("the DPoP proof is not a JWT") from None
    if header.get("typ") != "dpop+jwt":
        raise error("the DPoP proof's typ must be dpop+jwt")
    alg = header.get("alg")
    if alg not in DPOP_ALGS:
        raise error(f"the DPoP proof's alg must be one of {', '.join(DPOP_ALGS)}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in THUMBPRINT_MEMBERS:
        raise error("the DPoP proof's header must carry a public jwk")
    if any(name in jwk for name in PRIVATE_MEMBERS):
        raise error("the DPoP proof's jwk must not contain a private key")
    claims = _signed_claims(proof, jwk, alg, error)
    if claims.get("htm") != method:
        raise error("the DPoP proof's htm does not match the request method")
    if not _same_uri(claims.get("htu"), url):
        raise error("the DPoP proof's htu does not match the request URI")
    _check_iat(claims.get("iat"), settings.dpop_proof_max_age, settings.clock_skew_seconds, error)
    if access_token is not None and claims.get("ath") != _ath(access_token):
        raise error("the DPoP proof's ath does not match the access token")
    if settings.dpop_nonce_required:
        secret = await nonce.secret(services)
        if not nonce.is_fresh(secret, settings, claims.get("nonce")):
            fresh = nonce.current(secret, settings)
            asking = UseDpopNonce if access_token is None else ResourceUseDpopNonce
            raise asking("send a DPoP proof with the server's nonce", nonce=fresh)
    jkt = thumbprint(jwk)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 200 or "\x00" in jti:
        raise error("the DPoP proof needs a jti")
    lasts = int(claims["iat"]) + settings.dpop_proof_max_age + settings.clock_skew_seconds
    if not await replay.use_once(
        services.db, f"dpop:{jkt}", jti, datetime.fromtimestamp(lasts, UTC)
    ):
        raise error("the DPoP proof has been used before")
    return jkt


def _signed_claims(proof: str, jwk: dict[str, Any], alg: str, error: type[Exception]) -> Any:
    try:
        key = PyJWK({**jwk, "alg": alg}, algorithm=alg)
        claims = jwt.decode(proof, key, algorithms=[alg], options={"verify_aud": False})
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise error("the DPoP proof's signature does not verify with its jwk") from None
    return claims


def _same_uri(htu: Any, url: str) -> bool:
    """RFC 9449 §4.3 item 9: compared without query and fragment; scheme and host
    case-insensitively."""
    if not isinstance(htu, str) or len(htu) > 2000:
        return False
    a, b = urlsplit(htu), urlsplit(url)
    return (a.scheme.lower(), a.netloc.lower(), a.path or "/") == (
        b.scheme.lower(),
        b.netloc.lower(),
        b.path or "/",
    )


def _check_iat(iat: Any, max_age: int, skew: int, error: type[Exception]) -> None:
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise error("the DPoP proof needs a numeric iat")
    now = time.time()
    if iat > now + skew or iat < now - max_age - skew:
        raise error("the DPoP proof's iat is too old or in the future")


def _ath(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
