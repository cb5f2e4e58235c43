"""The refresh_token grant (RFC 6749 §6) with rotation (OAuth 2.0 Security BCP §4.14).

Each use rotates the token: one conditional write marks it used, and only the caller that wins
gets the new one. Presenting a token that was already rotated means it leaked (or a client
misbehaves): the whole family — every token descended from the same login — is revoked. The new
token keeps the old one's scope (RFC 6749 §6); a narrower ``scope`` narrows only the access
token; a wider one is ``invalid_scope``. The ID token keeps ``sub``, ``auth_time``, ``acr`` and
``amr`` of the original login.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.clients.metadata import REFRESH_TOKEN
from app.clients.models import Client
from app.errors import (
    InvalidAuthorizationDetails,
    InvalidDpopProof,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
)
from app.rar import validate as rar
from app.rar.types import registry
from app.services import Services
from app.storage.types import utcnow
from app.tokens.access import revoke_grant
from app.tokens.grant import TokenRequest
from app.tokens.mint import Authentication
from app.tokens.refresh import (
    RefreshToken,
    find_refresh_token,
    issue_refresh_token,
    revoke_family,
)
from app.users.models import User


class RefreshTokenGrant:
    grant_type = REFRESH_TOKEN

    async def __call__(self, request: TokenRequest) -> dict[str, Any]:
        presented = request.form.get("refresh_token")
        if not presented:
            raise InvalidRequest("refresh_token is required")
        services, client = request.services, request.client
        now = utcnow()
        async with services.db.session() as session:
            token = await find_refresh_token(session, presented)
            if token is None or token.client_id != client.client_id:
                raise InvalidGrant("unknown refresh_token")
            if token.revoked_at is not None or token.expires_at <= now:
                raise InvalidGrant("the refresh_token has expired or been revoked")
            if token.dpop_jkt and request.dpop_jkt != token.dpop_jkt:
                # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
                raise InvalidDpopProof("this refresh_token is bound to another DPoP key")
            scope = _narrowed(token.scope, request.form.get("scope"))
            details = _narrowed_details(services, client, token.authorization_details, request.form)
            user = await session.get(User, token.user_id)
            if user is None or not user.active:
                raise InvalidGrant("the user can no longer sign in")
            rotated = await session.exec(
                update(RefreshToken)
                .where(
                    col(RefreshToken.id) == token.id,
                    col(RefreshToken.rotated_at).is_(None),
                    col(RefreshToken.revoked_at).is_(None),
                )
                .values(rotated_at=now)
            )
            if rotated.rowcount != 1:  # used before: revoke the whole family
                await revoke_family(session, token.family_id, now)
                await session.commit()
                await revoke_grant(services, token.family_id)
                raise InvalidGrant("the refresh_token was already used; its family is revoked")
            new_token = issue_refresh_token(
                session,
                client_id=client.client_id,
                user_id=token.user_id,
                scope=token.scope,
                lifetime=services.settings.refresh_token_lifetime,
                auth_time=token.auth_time,
                acr=token.acr,
                amr=list(token.amr),
                family_id=token.family_id,
                # The family keeps what was approved: a narrower request narrows only the
                # access token (RFC 9396 §7.2), as with scope.
                authorization_details=token.authorization_details,
                dpop_jkt=token.dpop_jkt,
            )
            auth = Authentication(
                subject=await services.subjects.issue(session, token.user_id, client),
                auth_time=token.auth_time,
                acr=token.acr,
                amr=tuple(token.amr),
            )
            access_token = await services.minter.access_token(
                client,
                scope,
                auth,
                grant_id=token.family_id,
                authorization_details=details,
                dpop_jkt=request.dpop_jkt,
            )
            body: dict[str, Any] = {
                "access_token": access_token,
                "token_type": "DPoP" if request.dpop_jkt else "Bearer",
                "expires_in": services.settings.access_token_lifetime,
                "refresh_token": new_token,
                "scope": scope,
            }
            if details:
                body["authorization_details"] = details
            if "openid" in scope.split():
                body["id_token"] = await services.minter.id_token(
                    client, auth, access_token=access_token
                )
            await session.commit()
        return body


def _narrowed_details(
    services: Services,
    client: Client,
    granted: list[dict[str, Any]] | None,
    form: dict[str, str],
) -> list[dict[str, Any]] | None:
    """RFC 9396 §7.2: a refresh may ask for part of what was approved, never more."""
    if "authorization_details" not in form:
        return granted
    types = registry(services.settings.authorization_details_types_file)
    requested = rar.parse(form["authorization_details"], client, types)
    if requested is None or not granted or not rar.is_within(requested, granted):
        raise InvalidAuthorizationDetails(
            "authorization_details may only narrow what the user approved"
        )
    return requested


def _narrowed(granted: str, requested: str | None) -> str:
    if requested is None:
        return granted
    wanted = list(dict.fromkeys(requested.split()))
    beyond = [s for s in wanted if s not in granted.split()]
    if beyond or not wanted:
        raise InvalidScope("scope may only narrow what was granted: " + " ".join(beyond)[:200])
    return " ".join(wanted)
