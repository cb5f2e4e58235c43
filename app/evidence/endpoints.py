"""Admin API: GET /admin/requests/{id} — the evidence of a decided request, for disputes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.evidence import service
from app.http.deps import AdminDep, ServicesDep
from app.http.errors import NO_STORE

router = APIRouter(prefix="/admin/requests", tags=["admin"], dependencies=[AdminDep])


@router.get("/{request_id}")
async def show_request(
    request_id: str, services: ServicesDep, response: Response
) -> dict[str, Any]:
    response.headers.update(NO_STORE)
    return await service.show(services.db.sql, request_id)
