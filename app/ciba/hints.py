"""Who the client wants authenticated: exactly one of three hints (CIBA Core §7.1).

- ``login_hint``: the user's username, email address or phone number.
- ``login_hint_token``: a JWT signed by the client with one of its registered keys (the
  algorithms of ``private_key_jwt``), with ``exp`` and a ``sub_id`` subject identifier
  (RFC 9493): ``{"format": "email", "email": …}``, ``{"format": "phone_number",
  "phone_number": …}`` or ``{"format": "opaque", "id": <username>}``. ``aud``, when present,
  must name this issuer.
- ``id_token_hint``: an ID token this server issued to the client (its ``exp`` may have passed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt

from app.clients.metadata import ASYMMETRIC_ALGS
from app.clients.models import Client
from app.errors import (
    ExpiredLoginHintToken,
    InvalidClient,
    InvalidRequest,
    UnknownUserId,
    refuse_nul,
)
from app.jwt_kinds import LOGIN_HINT_TOKEN
from app.services import Services
from app.users.models import User

HINTS = ("login_hint", "login_hint_token", "id_token_hint")
MAX_HINT_LENGTH = 4096


async def find_user(
    params: Mapping[str, str], client: Client, services: Services
) -> tuple[User, bool]:
    """The one user the request's hint names, and whether an authenticator is enrolled;
    ``unknown_user_id`` if none (or not active)."""
    given = [name for name in HINTS if name in params]
    if len(given) != 1:
        raise InvalidRequest(
            "exactly one of login_hint, login_hint_token, id_token_hint is required"
        )
    name = given[0]
    value = params[name]
    if not value or len(value) > MAX_HINT_LENGTH:
        raise InvalidRequest(f"{name} must be a non-empty string of at most {MAX_HINT_LENGTH}")
    if name == "login_hint":
        found = await services.users.find_by_hint_enrolled(value)
    elif name == "login_hint_token":
        found = await _from_login_hint_token(value, client, services)
    else:
        user_id = await _from_id_token_hint(value, client, services)
        found = await services.users.get_enrolled(user_id) if user_id else None
    if found is None or not found[0].active:
        raise UnknownUserId("no user matches the hint")
    return found


async def _from_login_hint_token(
    token: str, client: Client, services: Services
) -> tuple[User, bool] | None:
    claims = await _verify_client_jwt(token, client, services)
    sub_id = claims.get("sub_id")
    if not isinstance(sub_id, dict):
        raise InvalidRequest("login_hint_token must carry a sub_id object (RFC 9493)")
    fields = {"email": "email", "phone_number": "phone_number", "opaque": "id"}
    field = fields.get(str(sub_id.get("format")))
    value = sub_id.get(field) if field else None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidRequest(
            "login_hint_token sub_id must use format email, phone_number or opaque"
        )
    return await services.users.find_by_hint_enrolled(value)


async def _verify_client_jwt(token: str, client: Client, services: Services) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidRequest("login_hint_token is not a JWT") from None
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGS:
        raise InvalidRequest("login_hint_token must be signed with an asymmetric algorithm")
    try:
        key = await services.authenticator.keys.key_for(client, header.get("kid"), alg)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            options={"require": ["exp"], "verify_exp": False, "verify_aud": False},
        )
    except (jwt.PyJWTError, InvalidClient) as exc:
        raise InvalidRequest(f"login_hint_token is invalid: {exc}") from None
    if problem := LOGIN_HINT_TOKEN.problem(header, claims):
        raise InvalidRequest(problem)
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise InvalidRequest("login_hint_token exp must be a number")
    if exp + services.settings.clock_skew_seconds < datetime.now(UTC).timestamp():
        raise ExpiredLoginHintToken("the login_hint_token has expired")
    aud = claims.get("aud")
    if aud is not None and services.settings.issuer not in (
        aud if isinstance(aud, list) else [aud]
    ):
        raise InvalidRequest("login_hint_token aud must name this issuer")
    return claims


async def _from_id_token_hint(token: str, client: Client, services: Services) -> str | None:
    try:
        claims = await services.keys.verify(
            token,
            audience=client.client_id,
            issuer=services.settings.issuer,
            options={"require": ["iss", "sub", "aud"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidRequest(f"id_token_hint is not an ID token issued to you: {exc}") from None
    sub = claims["sub"]
    if not isinstance(sub, str):
        return None
    return await services.subjects.user_id(refuse_nul("id_token_hint sub", sub), client)
