"""Scope checks shared by grants (RFC 6749 §3.3)."""

from __future__ import annotations

from app.clients.models import Client
from app.errors import InvalidScope


def granted_scope(requested: str | None, client: Client, default: str | None = None) -> str:
    """The requested scope if the client may have all of it; absent, the ``default`` (or the
    client's whole registered scope). Anything beyond the registration is ``invalid_scope``."""
    allowed = client.meta.scopes
    if requested is None:
        return default if default is not None else " ".join(sorted(allowed))
    wanted = list(dict.fromkeys(requested.split()))
    extra = [s for s in wanted if s not in allowed]
    if extra:
        raise InvalidScope(f"scope not allowed for this client: {' '.join(extra)}")
    return " ".join(wanted)
