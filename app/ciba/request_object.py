"""Signed authentication requests (CIBA Core §7.1.1, FAPI-CIBA §5.2.2).

The parameters travel as the claims of a JWT in the ``request`` form field, signed with the
``backchannel_authentication_request_signing_alg`` the client registered (asymmetric only). A
client that registered one must sign; one that did not may not. ``iss``, ``aud``, ``exp``,
``iat``, ``nbf`` and ``jti`` are all required; the JWT may live at most 60 minutes from ``nbf``,
``nbf`` may be at most 60 minutes old, and a ``jti`` is accepted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt

from app.clients.models import Client
from app.errors import InvalidClient, InvalidRequest, refuse_nul
from app.jwt_kinds import REQUEST_OBJECT
from app.replay import use_once
from app.services import Services

MAX_LIFETIME = 3600
REGISTERED_CLAIMS = ("iss", "aud", "exp", "iat", "nbf", "jti")
# Form fields that may sit beside ``request``: client authentication, nothing else.
CLIENT_AUTH_FIELDS = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)


async def request_parameters(
    form: Mapping[str, str], client: Client, services: Services, endpoint: str
) -> dict[str, Any]:
    """The authentication request's parameters: from the signed ``request`` JWT, or the form."""
    alg = client.meta.backchannel_authentication_request_signing_alg
    if "request" not in form:
        if alg is not None:
            raise InvalidRequest(f"this client must send a request object signed with {alg}")
        return dict(form)
    if alg is None:
        raise InvalidRequest(
            "this client registered no backchannel_authentication_request_signing_alg"
        )
    outside = set(form) - CLIENT_AUTH_FIELDS - {"request"}
    if outside:
        raise InvalidRequest(
            "with a request object, parameters must not appear outside it: "
            + ", ".join(sorted(outside))[:200]
        )
    claims = await _verify(form["request"], client, alg, services, endpoint)
    return {k: v for k, v in claims.items() if k not in REGISTERED_CLAIMS}


async def _verify(
    token: str, client: Client, alg: str, services: Services, endpoint: str
) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidRequest("request is not a signed JWT") from None
    if header.get("alg") != alg:
        raise InvalidRequest(f"the request object must be signed with {alg}")
    settings = services.settings
    try:
        key = await services.authenticator.keys.key_for(client, header.get("kid"), alg)
    except InvalidClient as exc:
        raise InvalidRequest(f"the request object key: {exc.description}") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=[settings.issuer, endpoint],
            issuer=client.client_id,
            leeway=settings.clock_skew_seconds,
            options={"require": list(REGISTERED_CLAIMS)},
        )
    except jwt.PyJWTError as exc:
        raise InvalidRequest(f"the request object is invalid: {exc}") from None
    if problem := REQUEST_OBJECT.problem(header, claims):  # not a client assertion, say
        raise InvalidRequest(problem)
    now = datetime.now(UTC).timestamp()
    exp, nbf = float(claims["exp"]), float(claims["nbf"])
    if exp - nbf > MAX_LIFETIME:
        raise InvalidRequest("the request object must expire within 60 minutes of its nbf")
    if now - nbf > MAX_LIFETIME + settings.clock_skew_seconds:
        raise InvalidRequest("the request object nbf is more than 60 minutes in the past")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise InvalidRequest("the request object jti must be a string of 1 to 255 characters")
    refuse_nul("the request object jti", jti)
    expires = datetime.fromtimestamp(exp, UTC)
    if not await use_once(services.db, f"request:{client.client_id}", jti, expires):
        raise InvalidRequest("the request object has been used before (jti)")
    return claims
