"""Admin API for clients: POST/GET/PATCH/DELETE /admin/clients (RFC 7591 metadata names)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.http.deps import AdminDep, JsonBody, ServicesDep
from app.http.errors import NO_STORE

router = APIRouter(prefix="/admin/clients", tags=["admin"], dependencies=[AdminDep])


@router.post("", status_code=201)
async def create_client(
    body: JsonBody, services: ServicesDep, response: Response
) -> dict[str, Any]:
    response.headers.update(NO_STORE)  # the response carries the client secret
    return await services.clients.create(body)


@router.get("")
async def list_clients(services: ServicesDep) -> list[dict[str, Any]]:
    return [c.public_view() for c in await services.clients.all()]


@router.get("/{client_id}")
async def get_client(client_id: str, services: ServicesDep) -> dict[str, Any]:
    return (await services.clients.require(client_id)).public_view()


@router.patch("/{client_id}")
async def update_client(
    client_id: str, body: JsonBody, services: ServicesDep, response: Response
) -> dict[str, Any]:
    response.headers.update(NO_STORE)
    return await services.clients.update(client_id, body)


@router.delete("/{client_id}", status_code=204)
async def delete_client(client_id: str, services: ServicesDep) -> Response:
    await services.clients.delete(client_id)
    return Response(status_code=204)
