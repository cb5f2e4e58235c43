"""Starting authentication requests inside the live server, as a flow (CIBA, headless) would."""

from __future__ import annotations

from typing import Any

import httpx

from app.decoupled.models import AuthRequest
from app.decoupled.service import NewRequest
from tests.support.clients import register
from tests.support.live import LiveServer

CIBA = "urn:openid:params:grant-type:ciba"


def ciba_client(admin: httpx.Client, **metadata: Any) -> dict[str, Any]:
    defaults = {
        "client_name": "Call centre",
        "grant_types": [CIBA],
        "backchannel_token_delivery_mode": "poll",
    }
    return register(admin, **{**defaults, **metadata})


def start_request(
    server: LiveServer, client_id: str, user_id: str | None, **fields: Any
) -> tuple[AuthRequest, str]:
    new = NewRequest(
        client_id=client_id,
        user_id=user_id,
        mode=fields.pop("mode", "poll"),
        scope=fields.pop("scope", "openid"),
        expires_in=fields.pop("expires_in", 120),
        **fields,
    )
    return server.call(lambda s: s.requests.create(new))


def request_status(server: LiveServer, request_id: str) -> str:
    request = server.call(lambda s: s.requests.get(request_id))
    assert request is not None
    return request.status
