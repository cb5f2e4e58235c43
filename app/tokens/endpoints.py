"""POST /token (RFC 6749 §3.2): parse, authenticate the client, dispatch to the grant."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.dpop.binding import token_request_jkt
from app.errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.http.json import JSONResponse
from app.tokens.grant import TokenRequest
from app.tokens.registry import GRANTS

router = APIRouter(tags=["oauth"])


@router.post("/token")
async def token(request: Request, services: ServicesDep) -> JSONResponse:
    form = await read_form(request)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"unsupported grant_type {grant_type[:100]!r}")
    endpoint = services.settings.endpoint("/token")
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), endpoint
    )
    if grant_type not in client.meta.grant_types:
        raise UnauthorizedClient("the client is not registered for this grant type")
    jkt = await token_request_jkt(services, client, request.headers, endpoint)
    body = await grant(
        TokenRequest(
            form=form, client=client, services=services, headers=request.headers, dpop_jkt=jkt
        )
    )
    return JSONResponse(body, headers=NO_STORE)
