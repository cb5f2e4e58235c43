"""POST /introspect (RFC 7662): is this token active, and what does it carry?

Any confidential client may introspect access tokens (resource servers are clients too); a
refresh token only by the client it was issued to. Anything not active — expired, revoked,
rotated, unknown, another client's refresh token — is ``{"active": false}`` and nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.errors import InvalidRequest, InvalidToken, UnauthorizedClient
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.services import Services
from app.storage.types import utcnow
from app.tokens.access import verify_access_token
from app.tokens.refresh import find_refresh_token, is_live

router = APIRouter(tags=["oauth"])

INACTIVE = {"active": False}
ACCESS_TOKEN_MEMBERS = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "acr")


@router.post("/introspect")
async def introspect(request: Request, services: ServicesDep) -> JSONResponse:
    form = await read_form(request)
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), services.settings.endpoint("/introspect")
    )
    if client.meta.is_public:
        raise UnauthorizedClient("public clients cannot introspect tokens")
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required")
    return JSONResponse(await _describe(services, client.client_id, token), headers=NO_STORE)


async def _describe(services: Services, client_id: str, token: str) -> dict[str, Any]:
    async with services.db.session() as session:
        found = await find_refresh_token(session, token)
    if found is not None:
        if found.client_id != client_id or not is_live(found, utcnow()):
            return INACTIVE
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": found.scope,
            "client_id": found.client_id,
            "iat": int(found.created_at.timestamp()),
            "exp": int(found.expires_at.timestamp()),
        }
    try:
        claims = await verify_access_token(services, token)
    except InvalidToken:
        return INACTIVE
    described = {k: claims[k] for k in ACCESS_TOKEN_MEMBERS if k in claims}
    return {"active": True, "token_type": "Bearer", **described}
