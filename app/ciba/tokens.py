"""The token response for an approved request, minted once, inside the move that consumes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import metrics
from app.clients.metadata import CIBA
from app.clients.models import Client
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.devices.models import Device
from app.errors import TokenAccessDenied
from app.services import Services
from app.storage.types import utcnow
from app.tokens.response import Grant, issue_tokens
from app.users.models import User

# More work for the consuming transaction, given the minted token response.
Then = Callable[[AsyncSession, AuthRequest, dict[str, Any]], Awaitable[None]]

AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id"


async def redeem(
    services: Services,
    request: AuthRequest,
    client: Client,
    auth_req_id: str,
    *,
    push: bool = False,
    then: Then | None = None,
    dpop_jkt: str | None = None,
) -> dict[str, Any] | None:
    """Consume an approved request and mint its tokens in one transaction: the tokens exist
    only if the move commits, so they are minted once. None when another caller consumed it
    first. When the re-check fails the request becomes denied and ``TokenAccessDenied`` rises."""
    body: dict[str, Any] = {}

    async def mint(session: AsyncSession, consumed: AuthRequest) -> None:
        body.update(
            await token_response(
                services, session, consumed, client, auth_req_id, push=push, dpop_jkt=dpop_jkt
            )
        )
        if then is not None:
            await then(session, consumed, body)

    try:
        moved = await services.requests.transition(
            request.id, Status.CONSUMED, {"consumed_at": utcnow()}, within=mint
        )
    except TokenAccessDenied as exc:
        reason = {**request.extra, "denied_at_redemption": exc.description}
        await services.requests.transition(
            request.id, Status.DENIED, {"extra": reason}, from_=Status.APPROVED
        )
        raise
    if moved is None:
        return None
    if not push:  # a push client knows once the POST lands (app/ciba/delivery.py)
        metrics.client_knows(request.mode, request.decided_at)
    return body


async def check_still_allowed(
    session: AsyncSession, request: AuthRequest, client: Client, grant_type: str
) -> None:
    """What was true when the request started must still be true when tokens (or a code) leave:
    the user exists and is active, the approving device is still enrolled to them, the client
    still has the grant. Otherwise ``access_denied``."""
    user = await session.get(User, request.user_id) if request.user_id else None
    device = await session.get(Device, request.device_id) if request.device_id else None
    if user is None or not user.active:
        raise TokenAccessDenied("the user can no longer sign in")
    if device is None or device.user_id != user.id:
        raise TokenAccessDenied("the device that approved has been removed")
    if grant_type not in client.meta.grant_types:
        raise TokenAccessDenied(f"the client is no longer registered for {grant_type}")


def approved_grant(request: AuthRequest) -> Grant:
    """What the user granted by approving ``request`` on the phone."""
    assert request.user_id is not None and request.decided_at is not None
    return Grant(
        user_id=request.user_id,
        scope=request.scope,
        auth_time=int(request.decided_at.timestamp()),
        acr=request.acr,
        amr=tuple(request.amr),
        authorization_details=request.authorization_details,
    )


async def token_response(
    services: Services,
    session: AsyncSession,
    request: AuthRequest,
    client: Client,
    auth_req_id: str,
    *,
    push: bool = False,
    dpop_jkt: str | None = None,
) -> dict[str, Any]:
    """Access token, ID token (``acr``, ``amr``, ``auth_time``, ``at_hash``, the
    ``auth_req_id`` claim; ``rt_hash`` when pushed with a refresh token) and, when
    ``offline_access`` was granted, a refresh token, staged in ``session``."""
    await check_still_allowed(session, request, client, CIBA)
    issued = await issue_tokens(
        services,
        session,
        client,
        approved_grant(request),
        rt_hash=push,
        extra_claims={AUTH_REQ_ID_CLAIM: auth_req_id},
        # The poll's proof, or the one a headless start gave (RFC 9449).
        dpop_jkt=dpop_jkt or request.dpop_jkt,
    )
    return issued.body
