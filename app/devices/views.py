"""What a device is shown of a request: who asks, what for, until when. Nothing else."""

from __future__ import annotations

from typing import Any

from app.decoupled.models import AuthRequest
from app.decoupled.service import Guard
from app.devices.decisions import NUMBER_MATCH
from app.rar.render import describe
from app.rar.types import registry
from app.services import Services


async def handed_over(
    services: Services, requests: list[AuthRequest], *, guard: Guard | None = None
) -> list[dict[str, Any]]:
    """The views of ``requests`` for a device, noted as shown (the evidence's timeline) in one
    write with ``guard`` (a device assertion's jti to spend)."""
    views = [await request_view(services, r) for r in requests]
    await services.requests.mark_shown(requests, guard=guard)
    return views


async def request_view(services: Services, request: AuthRequest) -> dict[str, Any]:
    client = await services.clients.get(request.client_id)
    types_file = services.settings.authorization_details_types_file
    return {
        "id": request.id,
        "client_name": (client.meta.client_name if client else None) or request.client_id,
        "binding_message": request.binding_message,
        "scope": request.scope,
        "acr_values": request.acr_values,
        "user_code_required": request.user_code_required,
        # The phone asks the user for the number their sign-in page shows.
        "number_match_required": NUMBER_MATCH in request.extra,
        # Where a login page's sign-in comes from (its browser's network, maybe a location),
        # so a relayed code shows a stranger's network; absent for a client's own requests.
        "origin": request.extra.get("origin"),
        # RFC 9396: exactly what the user approves, and the same in plain words. An approval
        # signs the hash of this array (app/rar/linking.py).
        "authorization_details": request.authorization_details,
        "authorization_details_text": (
            describe(request.authorization_details, registry(types_file))
            if request.authorization_details
            else None
        ),
        "created_at": request.created_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
    }
