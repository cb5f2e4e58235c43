"""FastAPI dependencies: the process's services, the admin guard, JSON bodies."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from app.errors import InvalidRequest, InvalidToken, OAuthError
from app.http.forms import read_body
from app.http.untrusted_json import parse_json
from app.services import Services

MAX_JSON_BYTES = 256 * 1024


async def get_services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


class AdminDisabled(OAuthError):
    """The admin API is off because no admin token is configured."""

    error = "access_denied"
    status_code = 403


async def require_admin(request: Request, services: ServicesDep) -> None:
    token = services.settings.admin_token
    if token is None:
        raise AdminDisabled("the admin API is disabled: set BACKCHANNEL_ADMIN_TOKEN")
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise InvalidToken()
    if not hmac.compare_digest(presented.strip().encode(), token.get_secret_value().encode()):
        raise InvalidToken("the admin token is not valid")


AdminDep = Depends(require_admin)


async def read_json(request: Request) -> Any:
    """The JSON body; anything else is a clear ``invalid_request`` rather than a 422 or 500."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidRequest("the body must be application/json")
    body = await read_body(request, MAX_JSON_BYTES)
    data = parse_json(body)
    if _has_nul(data):
        raise InvalidRequest("strings must not contain NUL characters")
    return data


def _has_nul(value: Any) -> bool:
    """NUL cannot be stored in PostgreSQL text and has no business in any of our fields."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


JsonBody = Annotated[Any, Depends(read_json)]
