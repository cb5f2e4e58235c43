"""POST /introspect (RFC 7662): is this token active, and what does it carry?

Only confidential clients may ask (a public or unauthenticated caller is ``invalid_client``). A
client learns about the tokens issued to it; a client registered as a resource server
(``resource_server_audiences``) also about access tokens whose ``aud`` names it. Anything else —
expired, revoked, rotated, unknown, another client's token — is ``{"active": false}`` and nothing
more, so the endpoint is no oracle for scanning tokens (RFC 7662 §4).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.clients.models import Client
from app.errors import InvalidClient, InvalidRequest, InvalidToken
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.http.json import JSONResponse
from app.services import Services
from app.storage.types import utcnow
from app.tokens.access import verify_access_token
from app.tokens.refresh import find_refresh_token, is_live

router = APIRouter(tags=["oauth"])

INACTIVE = {"active": False}
# RFC 9396 §9.2 authorization_details, RFC 9449 §6.2 cnf.
ACCESS_TOKEN_MEMBERS = (
    "scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "acr",
    "authorization_details", "cnf",
)  # fmt: skip


@router.post("/introspect")
async def introspect(request: Request, services: ServicesDep) -> JSONResponse:
    form = await read_form(request)
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), services.settings.endpoint("/introspect")
    )
    if client.meta.is_public:
        raise InvalidClient(
            "public clients cannot introspect tokens; authenticate as a confidential client"
        )
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required")
    return JSONResponse(await _describe(services, client, token), headers=NO_STORE)


async def _describe(services: Services, client: Client, token: str) -> dict[str, Any]:
    async with services.db.session() as session:
        found = await find_refresh_token(session, token)
    if found is not None:
        if found.client_id != client.client_id or not is_live(found, utcnow()):
            return INACTIVE
        # No token_type: RFC 7662 §2.2 means an access token type (RFC 6749 §7.1).
        described: dict[str, Any] = {
            "active": True,
            "scope": found.scope,
            "client_id": found.client_id,
            "iat": int(found.created_at.timestamp()),
            "exp": int(found.expires_at.timestamp()),
        }
        if found.authorization_details:
            described["authorization_details"] = found.authorization_details
        if found.dpop_jkt:
            described["cnf"] = {"jkt": found.dpop_jkt}
        return described
    try:
        claims = await verify_access_token(services, token)
    except InvalidToken:
        return INACTIVE
    if not _may_see(client, claims):
        return INACTIVE
    described = {k: claims[k] for k in ACCESS_TOKEN_MEMBERS if k in claims}
    token_type = "DPoP" if "cnf" in claims else "Bearer"
    return {"active": True, "token_type": token_type, **described}


def _may_see(client: Client, claims: dict[str, Any]) -> bool:
    """The token was issued to this client, or names it (a resource server) in ``aud``."""
    if claims.get("client_id") == client.client_id:
        return True
    audiences = claims.get("aud")
    named = {audiences} if isinstance(audiences, str) else set(audiences or ())
    return bool(named & set(client.meta.resource_server_audiences))
