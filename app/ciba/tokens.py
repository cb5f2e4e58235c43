"""The token response for an approved request, minted once, inside the move that consumes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.clients.metadata import CIBA, REFRESH_TOKEN
from app.clients.models import Client
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.devices.models import Device
from app.errors import TokenAccessDenied
from app.storage.types import utcnow
from app.tokens.mint import Authentication
from app.tokens.refresh import issue_refresh_token
from app.users.models import User

if TYPE_CHECKING:
    from app.services import Services

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
) -> dict[str, Any] | None:
    """Consume an approved request and mint its tokens in one transaction: the tokens exist
    only if the move commits, so they are minted once. None when another caller consumed it
    first. When the re-check fails the request becomes denied and ``TokenAccessDenied`` rises."""
    body: dict[str, Any] = {}

    async def mint(session: AsyncSession, consumed: AuthRequest) -> None:
        body.update(
            await token_response(services, session, consumed, client, auth_req_id, push=push)
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
    return body if moved is not None else None


async def check_still_allowed(session: AsyncSession, request: AuthRequest, client: Client) -> None:
    """What was true when the request started must still be true when tokens leave: the user
    exists and is active, the approving device is still enrolled to them, the client still has
    the grant. Otherwise ``access_denied``."""
    user = await session.get(User, request.user_id) if request.user_id else None
    device = await session.get(Device, request.device_id) if request.device_id else None
    if user is None or not user.active:
        raise TokenAccessDenied("the user can no longer sign in")
    if device is None or device.user_id != user.id:
        raise TokenAccessDenied("the device that approved has been removed")
    if CIBA not in client.meta.grant_types:
        raise TokenAccessDenied("the client is no longer registered for CIBA")


async def token_response(
    services: Services,
    session: AsyncSession,
    request: AuthRequest,
    client: Client,
    auth_req_id: str,
    *,
    push: bool = False,
) -> dict[str, Any]:
    """Access token, ID token (``acr``, ``amr``, ``auth_time``, ``at_hash``, the
    ``auth_req_id`` claim; ``rt_hash`` when pushed with a refresh token) and, when
    ``offline_access`` was granted, a refresh token, staged in ``session``."""
    await check_still_allowed(session, request, client)
    assert request.user_id is not None and request.decided_at is not None
    settings = services.settings
    auth = Authentication(
        subject=await services.subjects.issue(session, request.user_id, client),
        auth_time=int(request.decided_at.timestamp()),
        acr=request.acr,
        amr=tuple(request.amr),
    )
    access_token = await services.minter.access_token(client, request.scope, auth)
    refresh_token = None
    if "offline_access" in request.scope.split() and REFRESH_TOKEN in client.meta.grant_types:
        refresh_token = issue_refresh_token(
            session,
            client_id=client.client_id,
            user_id=request.user_id,
            scope=request.scope,
            lifetime=settings.refresh_token_lifetime,
            auth_time=auth.auth_time,
            acr=auth.acr,
            amr=list(auth.amr),
        )
    id_token = await services.minter.id_token(
        client,
        auth,
        access_token=access_token,
        refresh_token=refresh_token if push else None,
        extra={AUTH_REQ_ID_CLAIM: auth_req_id},
    )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_lifetime,
        "id_token": id_token,
        "scope": request.scope,
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return body
