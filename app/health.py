"""GET /healthz: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.http.deps import ServicesDep
from app.storage import outage

router = APIRouter(tags=["operations"])
log = logging.getLogger("backchannel.health")


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    try:
        async with services.db.session() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        outage.report(exc)  # one warning per outage, not one per probe
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})
