"""Authorization codes: issued at the end of a login, redeemed once at /token.

A code is 256 random bits kept only as a hash, bound to the client, the redirect URI, the PKCE
challenge and the nonce. It records what its redemption issued, so that a second redemption —
a sign the code leaked — revokes those tokens too (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize.models import AuthorizationCode
from app.authorize.params import AuthorizationParams
from app.hashing import hash_secret, new_secret
from app.storage.types import utcnow
from app.tokens.response import Grant


def issue_code(
    session: AsyncSession, params: AuthorizationParams, grant: Grant, lifetime: int
) -> str:
    """Stage a code in the caller's transaction; returns the code itself."""
    code = new_secret(32)
    lifetime = min(lifetime, params.max_code_lifetime or lifetime)
    now = utcnow()
    session.add(
        AuthorizationCode(
            id=new_secret(16),
            code_hash=hash_secret(code),
            client_id=params.client_id,
            user_id=grant.user_id,
            redirect_uri=params.redirect_uri,
            scope=grant.scope,
            nonce=params.nonce,
            code_challenge=params.code_challenge,
            code_challenge_method=params.code_challenge_method,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=list(grant.amr),
            authorization_details=grant.authorization_details,
            dpop_jkt=params.dpop_jkt,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return code
