"""The server's own public API, called in-process over ASGI: the same routes, checks and errors an
outside client meets, without depending on how the listening address is reachable from here."""

from __future__ import annotations

from typing import Any

import httpx


def own_api(app: Any, issuer: str, admin_token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=issuer, headers=headers, timeout=10)
