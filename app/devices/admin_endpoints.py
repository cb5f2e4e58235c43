"""Admin API for enrollment and devices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import AdminDep, ServicesDep
from app.http.errors import NO_STORE

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


@router.post("/users/{user_id}/enrollments", status_code=201)
async def create_enrollment(
    user_id: str, services: ServicesDep, response: Response
) -> dict[str, Any]:
    await services.users.require(user_id)
    response.headers.update(NO_STORE)  # the code is a credential, shown once
    return await services.devices.new_enrollment(user_id)


@router.get("/users/{user_id}/devices")
async def list_devices(user_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    await services.users.require(user_id)
    return [d.view() for d in await services.devices.for_user(user_id)]


@router.delete("/devices/{device_id}", status_code=204)
async def delete_device(device_id: str, services: ServicesDep) -> Response:
    await services.devices.delete(device_id)
    return Response(status_code=204)
