"""The token response for a user's fresh grant (an approved decoupled login, a redeemed code):
access token, ID token and, when the grant allows it, a new refresh token family.

Staged in the caller's transaction, so the tokens exist only if the grant's single-use write
commits with them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.clients.metadata import REFRESH_TOKEN
from app.clients.models import Client
from app.services import Services
from app.storage.types import utcnow
from app.tokens.mint import Authentication
from app.tokens.refresh import issue_refresh_token


@dataclass(frozen=True)
class Grant:
    """Who authenticated, how, and what they granted to the client."""

    user_id: str
    scope: str
    auth_time: int
    acr: str | None
    amr: tuple[str, ...]
    authorization_details: list[dict[str, Any]] | None = None  # RFC 9396


@dataclass(frozen=True)
class Issued:
    """The response body and what it issued, so that a replayed grant can revoke it."""

    body: dict[str, Any]
    access_jti: str
    access_expires_at: datetime
    refresh_family_id: str | None


def wants_refresh_token(client: Client, scope: str) -> bool:
    return "offline_access" in scope.split() and REFRESH_TOKEN in client.meta.grant_types


async def issue_tokens(
    services: Services,
    session: AsyncSession,
    client: Client,
    grant: Grant,
    *,
    nonce: str | None = None,
    rt_hash: bool = False,
    extra_claims: dict[str, Any] | None = None,
    dpop_jkt: str | None = None,
) -> Issued:
    """Mint the tokens for ``grant``; ``rt_hash`` binds the refresh token into the ID token
    (CIBA push, where tokens travel without the client asking). ``dpop_jkt`` binds the access
    token — and a public client's refresh token — to a DPoP key (RFC 9449 §5)."""
    settings = services.settings
    auth = Authentication(
        subject=await services.subjects.issue(session, grant.user_id, client),
        auth_time=grant.auth_time,
        acr=grant.acr,
        amr=grant.amr,
    )
    jti = uuid.uuid4().hex
    family_id = uuid.uuid4().hex if wants_refresh_token(client, grant.scope) else None
    details = grant.authorization_details
    access_token = await services.minter.access_token(
        client,
        grant.scope,
        auth,
        jti=jti,
        grant_id=family_id,
        authorization_details=details,
        dpop_jkt=dpop_jkt,
    )
    refresh_token = None
    if family_id:
        refresh_token = issue_refresh_token(
            session,
            client_id=client.client_id,
            user_id=grant.user_id,
            scope=grant.scope,
            lifetime=settings.refresh_token_lifetime,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=list(grant.amr),
            family_id=family_id,
            authorization_details=details,
            dpop_jkt=dpop_jkt if client.meta.is_public else None,
        )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "DPoP" if dpop_jkt else "Bearer",
        "expires_in": settings.access_token_lifetime,
        "scope": grant.scope,
    }
    if details:
        body["authorization_details"] = details  # RFC 9396 §7
    if "openid" in grant.scope.split():
        body["id_token"] = await services.minter.id_token(
            client,
            auth,
            nonce=nonce,
            access_token=access_token,
            refresh_token=refresh_token if rt_hash else None,
            extra=extra_claims,
        )
    if refresh_token:
        body["refresh_token"] = refresh_token
    return Issued(
        body=body,
        access_jti=jti,
        access_expires_at=utcnow() + timedelta(seconds=settings.access_token_lifetime),
        refresh_family_id=family_id,
    )
