"""POST /revoke (RFC 7009): a client ends one of its tokens.

A refresh token takes its whole family with it (every token rotated from the same grant) and
the access tokens issued with them (RFC 7009 §2.1); an access token is recorded as revoked until
it expires. Unknown tokens, and tokens of other clients, get the same 200 (RFC 7009 §2.2): the
answer tells nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.errors import InvalidRequest, InvalidToken
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.storage.types import utcnow
from app.tokens.access import revoke_access_token, revoke_grant, verify_access_token
from app.tokens.refresh import find_refresh_token, revoke_family

router = APIRouter(tags=["oauth"])


@router.post("/revoke")
async def revoke(request: Request, services: ServicesDep) -> Response:
    form = await read_form(request)
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), services.settings.endpoint("/revoke")
    )
    token = form.get("token")
    if not token:
        raise InvalidRequest("token is required")
    async with services.db.session() as session:
        found = await find_refresh_token(session, token)
        if found is not None:
            if found.client_id == client.client_id:
                await revoke_family(session, found.family_id, utcnow())
                await session.commit()
                await revoke_grant(services, found.family_id)  # RFC 7009 §2.1
            return Response(status_code=200, headers=NO_STORE)
    try:
        claims = await verify_access_token(services, token)
    except InvalidToken:
        return Response(status_code=200, headers=NO_STORE)  # expired, revoked or not ours
    if claims["client_id"] == client.client_id:
        await revoke_access_token(services, claims)
    return Response(status_code=200, headers=NO_STORE)
