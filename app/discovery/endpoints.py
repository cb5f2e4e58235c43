"""GET /.well-known/openid-configuration and GET /jwks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.discovery.metadata import provider_metadata
from app.http.deps import ServicesDep

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/openid-configuration")
async def openid_configuration(services: ServicesDep) -> dict[str, Any]:
    return provider_metadata(services.settings)


@router.get("/jwks")
async def jwks(services: ServicesDep) -> JSONResponse:
    # Relying parties may cache briefly; the next key is published long before it signs.
    return JSONResponse(
        await services.keys.jwks(),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
