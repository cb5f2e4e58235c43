"""Checking a request's ``authorization_details`` (RFC 9396 §2, §5).

An array of objects, each with a ``type`` this server knows (and the client registered, when it
limits itself with ``authorization_details_types``) and valid against that type's schema.
Anything else is ``invalid_authorization_details``.
"""

from __future__ import annotations

import json
from typing import Any

from app.clients.models import Client
from app.errors import InvalidAuthorizationDetails
from app.rar.types import Registry

MAX_ENTRIES = 10
MAX_BYTES = 8192  # a payment is ~300 bytes; bounds what we store and the phone shows


def parse(value: Any, client: Client, types: Registry) -> list[dict[str, Any]] | None:
    """The validated array, or None when the request carries none. ``value`` is the form's
    JSON text or, from a request object or a headless frame, the array itself."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_BYTES:
            raise InvalidAuthorizationDetails(f"authorization_details exceeds {MAX_BYTES} bytes")
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidAuthorizationDetails("authorization_details must be JSON") from None
    if not isinstance(value, list) or not value:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty JSON array")
    if len(value) > MAX_ENTRIES:
        raise InvalidAuthorizationDetails(f"at most {MAX_ENTRIES} authorization_details")
    text = json.dumps(value)
    if len(text) > MAX_BYTES:
        raise InvalidAuthorizationDetails(f"authorization_details exceeds {MAX_BYTES} bytes")
    if "\\u0000" in text:  # PostgreSQL refuses NUL in text, and no phone should show one
        raise InvalidAuthorizationDetails("authorization_details must not contain NUL")
    allowed = client.meta.authorization_details_types
    for index, detail in enumerate(value):
        _check(index, detail, types, allowed)
    return value


def _check(index: int, detail: Any, types: Registry, allowed: list[str] | None) -> None:
    if not isinstance(detail, dict) or not isinstance(detail.get("type"), str):
        raise InvalidAuthorizationDetails(f"authorization_details[{index}] needs a string type")
    name = detail["type"]
    known = types.types.get(name)
    if known is None:
        raise InvalidAuthorizationDetails(f"unknown authorization_details type {name[:50]!r}")
    if allowed is not None and name not in allowed:
        raise InvalidAuthorizationDetails(f"the client is not registered for type {name[:50]!r}")
    error = next(iter(sorted(known.validator.iter_errors(detail), key=lambda e: e.path)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the object)"
        raise InvalidAuthorizationDetails(
            f"authorization_details[{index}] {where}: {error.message[:200]}"
        )


def is_within(requested: list[dict[str, Any]], granted: list[dict[str, Any]]) -> bool:
    """RFC 9396 §7: a later request (refresh) may ask for some of what was granted, never more.
    Each requested object must equal one that was granted."""
    return all(detail in granted for detail in requested)
