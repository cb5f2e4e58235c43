"""The kinds of JWT we accept, and how each is told from the others.

Several kinds are signed with the same keys — a phone signs its device assertions and its
decisions; a client signs its client assertions, request objects and login hint tokens — so a
signature alone does not say what a JWT is for. Each kind has a mark the others lack, checked
wherever that kind is verified, so that a JWT made (or leaked) as one kind is never accepted as
another:

- device assertion (API.md): any ``typ``; never ``decision`` nor ``request_id``;
- decision (API.md): any ``typ``; always ``decision`` and ``request_id``;
- client assertion (RFC 7523): ``typ`` none, ``JWT`` or ``client-authentication+jwt``; never
  ``scope`` nor ``sub_id`` (the marks of a request object and a login hint token);
- request object (RFC 9101): ``typ`` none, ``JWT`` or ``oauth-authz-req+jwt``; always
  ``scope`` (CIBA Core §7.1 requires it), never ``sub_id``;
- login hint token (CIBA Core §7.1): ``typ`` none or ``JWT``; always ``sub_id``, never ``scope``.

Device JWTs keep ``typ: JWT`` for existing apps, so claims tell them apart (API.md). Our own
access tokens are ``at+jwt`` (RFC 9068) and checked in app/tokens/access.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str
    typs: tuple[str | None, ...] | None = None  # None: any typ
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()

    def problem(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str | None:
        """Why this JWT is not of this kind, or None."""
        if self.typs is not None and header.get("typ") not in self.typs:
            return f"a {self.name} must not have typ {header.get('typ')!r}"
        missing = [c for c in self.required if c not in claims]
        if missing:
            return f"a {self.name} must carry {', '.join(missing)}"
        stray = [c for c in self.forbidden if c in claims]
        if stray:
            return f"a {self.name} must not carry {', '.join(stray)}"
        return None


DEVICE_ASSERTION = Kind("device assertion", forbidden=("decision", "request_id"))
DECISION = Kind("decision", required=("decision", "request_id"))
CLIENT_ASSERTION = Kind(
    "client assertion",
    typs=(None, "JWT", "client-authentication+jwt"),
    forbidden=("scope", "sub_id"),
)
REQUEST_OBJECT = Kind(
    "request object",
    typs=(None, "JWT", "oauth-authz-req+jwt"),
    required=("scope",),
    forbidden=("sub_id",),
)
LOGIN_HINT_TOKEN = Kind(
    "login hint token", typs=(None, "JWT"), required=("sub_id",), forbidden=("scope",)
)
