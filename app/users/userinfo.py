"""GET/POST /userinfo (OpenID Core §5.3): the user's claims, as the access token's scope allows.

The token comes as ``Authorization: Bearer`` or, on POST, as the ``access_token`` form field
(RFC 6750 §2.1-2.2), never both; a DPoP-bound token as ``Authorization: DPoP`` with its proof
(RFC 9449 §7). Errors are RFC 6750's: ``invalid_token`` (401, with a Bearer
challenge), ``insufficient_scope`` (403) when the token lacks ``openid``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.dpop.binding import check_resource_request
from app.errors import InsufficientScope, InvalidRequest, InvalidToken
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form
from app.http.json import JSONResponse
from app.tokens.access import verify_access_token
from app.users.models import PROFILE_CLAIMS, User

router = APIRouter(tags=["openid"])


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, services: ServicesDep) -> JSONResponse:
    scheme, token = await _access_token(request)
    claims = await verify_access_token(services, token)
    await check_resource_request(
        services,
        claims,
        scheme,
        token,
        request.headers,
        request.method,
        services.settings.endpoint("/userinfo"),
    )
    scopes = set(str(claims.get("scope", "")).split())
    if "openid" not in scopes:
        raise InsufficientScope("the access token lacks the openid scope", scope="openid")
    client = await services.clients.get(str(claims["client_id"]))
    user_id = await services.subjects.user_id(str(claims["sub"]), client) if client else None
    user = await services.users.get(user_id) if user_id else None
    if user is None or not user.active:
        raise InvalidToken("the access token's user is no longer here")
    return JSONResponse({"sub": claims["sub"], **released_claims(user, scopes)}, headers=NO_STORE)


def released_claims(user: User, scopes: set[str]) -> dict[str, Any]:
    """OpenID Core §5.4: what each standard scope releases."""
    released: dict[str, Any] = {}
    if "profile" in scopes:
        released.update({k: v for k, v in user.claims.items() if k in PROFILE_CLAIMS})
        released["preferred_username"] = user.claims.get("preferred_username", user.username)
        released["updated_at"] = int(user.updated_at.timestamp())
    if "email" in scopes and user.email:
        released.update(email=user.email, email_verified=user.email_verified)
    if "phone" in scopes and user.phone_number:
        released.update(
            phone_number=user.phone_number, phone_number_verified=user.phone_number_verified
        )
    if "address" in scopes and user.claims.get("address"):
        released["address"] = user.claims["address"]
    return released


async def _access_token(request: Request) -> tuple[str, str]:
    """The scheme (``bearer`` or ``dpop``, RFC 9449 §7.1) and the token."""
    scheme, _, header_token = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    in_header = scheme in ("bearer", "dpop") and header_token.strip()
    in_body = None
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        in_body = (await read_form(request)).get("access_token")
    if in_header and in_body:
        raise InvalidRequest("send the access token once: header or body, not both")
    token = header_token.strip() if in_header else in_body
    if not token:
        raise InvalidToken()  # no credentials: a bare challenge (RFC 6750 §3.1)
    return (scheme if in_header else "bearer"), token
