"""POST /bc-authorize: the backchannel authentication endpoint (CIBA Core §7)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.ciba import params
from app.ciba.flow import start
from app.ciba.request_object import request_parameters
from app.clients import fapi
from app.clients.metadata import CIBA
from app.errors import RequestUriNotSupported, UnauthorizedClient
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.http.json import JSONResponse

router = APIRouter(tags=["ciba"])

PATH = "/bc-authorize"


@router.post(PATH)
async def backchannel_authentication(request: Request, services: ServicesDep) -> JSONResponse:
    form = await read_form(request)
    endpoint = services.settings.endpoint(PATH)
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), endpoint
    )
    if CIBA not in client.meta.grant_types:
        raise UnauthorizedClient("the client is not registered for CIBA")
    if "request_uri" in form:
        raise RequestUriNotSupported("send the request object by value, in request")
    mode = client.meta.backchannel_token_delivery_mode or "poll"
    fapi.check_ciba_request(client.meta, form)
    asked = await request_parameters(form, client, services, endpoint)
    fapi.check_requested_expiry(client.meta, asked.get("requested_expiry"))
    ask = await params.validate(asked, client, services, mode=mode)
    auth_request, auth_req_id = await start(services, client, ask, mode)
    body: dict[str, object] = {"auth_req_id": auth_req_id, "expires_in": ask.expires_in}
    if mode != "push":  # push clients never poll
        body["interval"] = auth_request.interval
    return JSONResponse(body, headers=NO_STORE)
