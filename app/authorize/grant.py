"""The authorization_code grant at /token (RFC 6749 §4.1.3, RFC 7636 §4.5, OpenID Core §3.1.3).

A code is redeemed by one conditional write. A second redemption finds it used, and revokes what
the first one issued (RFC 6749 §4.1.2: a code presented twice has leaked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize import pkce
from app.authorize.models import AuthorizationCode
from app.clients.metadata import AUTHORIZATION_CODE
from app.errors import InvalidGrant, InvalidRequest
from app.hashing import hash_secret
from app.services import Services
from app.storage.types import utcnow
from app.tokens.access import revoke_grant, revoke_jti
from app.tokens.grant import TokenRequest
from app.tokens.refresh import revoke_family
from app.tokens.response import Grant, issue_tokens
from app.users.models import User


class AuthorizationCodeGrant:
    grant_type = AUTHORIZATION_CODE

    async def __call__(self, request: TokenRequest) -> dict[str, Any]:
        form, client, services = request.form, request.client, request.services
        presented = form.get("code")
        if not presented:
            raise InvalidRequest("code is required")
        now = utcnow()
        async with services.db.session() as session:
            query = select(AuthorizationCode).where(
                AuthorizationCode.code_hash == hash_secret(presented)
            )
            code = (await session.exec(query)).first()
            if code is None or code.client_id != client.client_id:
                raise InvalidGrant("unknown code")
            if code.redeemed_at is not None:
                await _revoke_issued(services, session, code, now)
                raise InvalidGrant("the code was already used; the tokens it issued are revoked")
            if code.expires_at <= now:
                raise InvalidGrant("the code has expired")
            if form.get("redirect_uri") != code.redirect_uri:
                raise InvalidGrant("redirect_uri does not match the authorization request")
            if client.meta.is_public and code.code_challenge is None:  # made public since
                raise InvalidGrant("a public client's code must have been issued with PKCE")
            pkce.verify(form.get("code_verifier"), code.code_challenge, code.code_challenge_method)
            if code.dpop_jkt is not None and request.dpop_jkt != code.dpop_jkt:
                # Checked before the code is used up: a thief's try leaves it to its owner.
                raise InvalidGrant(
                    "the code is bound to a DPoP key (dpop_jkt): send a DPoP proof by that key"
                )
            user = await session.get(User, code.user_id)
            if user is None or not user.active:
                raise InvalidGrant("the user can no longer sign in")
            code_id = code.id  # a rollback expires ``code``; its id is read again below
            taken = await session.exec(
                update(AuthorizationCode)
                .where(
                    col(AuthorizationCode.id) == code_id,
                    col(AuthorizationCode.redeemed_at).is_(None),
                )
                .values(redeemed_at=now)
            )
            if taken.rowcount != 1:  # a racing redemption won: the code was used twice
                await session.rollback()
                fresh = await session.get(AuthorizationCode, code_id, populate_existing=True)
                assert fresh is not None
                await _revoke_issued(services, session, fresh, now)
                raise InvalidGrant("the code was already used; the tokens it issued are revoked")
            grant = Grant(
                code.user_id,
                code.scope,
                code.auth_time,
                code.acr,
                tuple(code.amr),
                code.authorization_details,
            )
            issued = await issue_tokens(
                services, session, client, grant, nonce=code.nonce, dpop_jkt=request.dpop_jkt
            )
            await session.exec(
                update(AuthorizationCode)
                .where(col(AuthorizationCode.id) == code.id)
                .values(
                    access_jti=issued.access_jti,
                    access_expires_at=issued.access_expires_at,
                    refresh_family_id=issued.refresh_family_id,
                )
            )
            await session.commit()
        return issued.body


async def _revoke_issued(
    services: Services, session: AsyncSession, code: AuthorizationCode, now: datetime
) -> None:
    if code.refresh_family_id:
        await revoke_family(session, code.refresh_family_id, now)
        await session.commit()
        await revoke_grant(services, code.refresh_family_id)
    if code.access_jti and code.access_expires_at:
        await revoke_jti(services, code.access_jti, code.access_expires_at)
