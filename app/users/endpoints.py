"""Admin API for users: POST/GET/PATCH/DELETE /admin/users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import AdminDep, JsonBody, ServicesDep

router = APIRouter(prefix="/admin/users", tags=["admin"], dependencies=[AdminDep])


@router.post("", status_code=201)
async def create_user(body: JsonBody, services: ServicesDep) -> dict[str, Any]:
    return (await services.users.create(body)).view()


@router.get("")
async def list_users(services: ServicesDep) -> list[dict[str, Any]]:
    return [u.view() for u in await services.users.all()]


@router.get("/{user_id}")
async def get_user(user_id: str, services: ServicesDep) -> dict[str, Any]:
    return (await services.users.require(user_id)).view()


@router.patch("/{user_id}")
async def update_user(user_id: str, body: JsonBody, services: ServicesDep) -> dict[str, Any]:
    return (await services.users.update(user_id, body)).view()


@router.delete("/{user_id}", status_code=204)
async def delete_user(user_id: str, services: ServicesDep) -> Response:
    await services.users.delete(user_id)
    return Response(status_code=204)
