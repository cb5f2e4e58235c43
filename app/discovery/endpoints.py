"""Discovery: GET (and HEAD) /.well-known/openid-configuration, its RFC 8414 twin
/.well-known/oauth-authorization-server, and /jwks.

RFC 9110 §9.1: a server MUST answer HEAD wherever it answers GET; FastAPI routes do not add it by
themselves, and these are the documents clients probe.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.discovery.metadata import provider_metadata
from app.http.deps import ServicesDep
from app.http.json import JSONResponse

router = APIRouter(tags=["discovery"])
GET_AND_HEAD = ["GET", "HEAD"]


@router.api_route("/.well-known/openid-configuration", methods=GET_AND_HEAD)
@router.api_route("/.well-known/oauth-authorization-server", methods=GET_AND_HEAD)
async def openid_configuration(services: ServicesDep) -> dict[str, Any]:
    # One document for both: RFC 8414 §3 clients (oauth4webapi's "oauth2" discovery) and OpenID
    # Discovery clients see the same issuer and endpoints.
    return provider_metadata(services.settings)


@router.api_route("/jwks", methods=GET_AND_HEAD)
async def jwks(services: ServicesDep) -> JSONResponse:
    # Relying parties may cache briefly; the next key is published long before it signs.
    return JSONResponse(
        await services.keys.jwks(),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
