"""Checking the access tokens we issued (RFC 9068 JWTs), and revoking them.

A JWT access token is valid on its own until it expires, so revoking one (RFC 7009) records its
``jti`` until then — in the single-use table, under its own issuer key — and every check here
looks it up. Revoking a refresh token family (a grant) records the family the same way: access
tokens carry it as ``grant_id``. Used by /userinfo, /introspect and /revoke.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from app.errors import InvalidToken
from app.replay import use_once, was_used
from app.services import Services
from app.storage.types import utcnow
from app.tokens.mint import GRANT_ID_CLAIM

REVOKED = "revoked-access-tokens"
REVOKED_GRANTS = "revoked-grants"


async def verify_access_token(services: Services, token: str) -> dict[str, Any]:
    """The claims of a live access token of ours, or ``invalid_token``."""
    settings = services.settings
    try:
        claims = await services.keys.verify(
            token,
            typ="at+jwt",
            audience=settings.issuer,
            issuer=settings.issuer,
            leeway=settings.clock_skew_seconds,
            options={"require": ["exp", "iat", "jti", "sub", "client_id"]},
        )
    except jwt.PyJWTError:
        raise InvalidToken("the access token is invalid or expired") from None
    jti = claims["jti"]
    if not isinstance(jti, str) or await was_used(services.db, REVOKED, jti):
        raise InvalidToken("the access token has been revoked")
    grant_id = claims.get(GRANT_ID_CLAIM)
    if grant_id is not None and (
        not isinstance(grant_id, str) or await was_used(services.db, REVOKED_GRANTS, grant_id)
    ):
        raise InvalidToken("the access token's grant has been revoked")
    return claims


async def revoke_access_token(services: Services, claims: dict[str, Any]) -> None:
    expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
    await revoke_jti(services, str(claims["jti"]), expires)


async def revoke_jti(services: Services, jti: str, expires_at: datetime) -> None:
    """Record the access token ``jti`` as revoked until it would have expired anyway."""
    await use_once(services.db, REVOKED, jti, expires_at)


async def revoke_grant(services: Services, grant_id: str) -> None:
    """End every access token issued with the refresh token family ``grant_id`` (RFC 7009
    §2.1), recorded until the last of them would have expired anyway."""
    settings = services.settings
    lifetime = settings.access_token_lifetime + settings.clock_skew_seconds
    await use_once(services.db, REVOKED_GRANTS, grant_id, utcnow() + timedelta(seconds=lifetime))
