"""The contract a grant type fulfils to plug into the token endpoint (RFC 6749 §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.clients.models import Client
from app.services import Services


@dataclass(frozen=True)
class TokenRequest:
    """An authenticated request to the token endpoint."""

    form: dict[str, str]
    client: Client
    services: Services
    headers: Mapping[str, str] = field(default_factory=dict)
    dpop_jkt: str | None = None  # RFC 9449: the key this request's tokens are bound to


class Grant(Protocol):
    grant_type: str

    async def __call__(self, request: TokenRequest) -> dict[str, Any]:
        """Return the token response body, or raise an OAuthError."""
        ...
