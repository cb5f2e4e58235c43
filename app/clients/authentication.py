"""Client authentication at the token endpoint family (RFC 6749 §2.3, OpenID Core §9, RFC 7523).

Methods: ``client_secret_basic``, ``client_secret_post``, ``private_key_jwt`` and ``none``. A
client must use the one method it registered, and exactly one method per request.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import jwt

from app.clients.jwks import ClientKeys
from app.clients.metadata import ASYMMETRIC_ALGS, SECRET_METHODS
from app.clients.models import Client
from app.clients.service import ClientService
from app.errors import InvalidClient, InvalidRequest
from app.hashing import verify_secret
from app.jwt_kinds import CLIENT_ASSERTION
from app.replay import use_once
from app.settings import Settings
from app.storage.db import Database

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_JTI_LENGTH = 255


@dataclass(frozen=True)
class Presented:
    """What the request offers as client credentials, before any of it is checked."""

    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None


def presented_credentials(form: Mapping[str, str], authorization: str | None) -> Presented:
    """Work out which one method the request uses; more than one is ``invalid_request``."""
    basic = _parse_basic(authorization) if _is_basic(authorization) else None
    methods = [
        name
        for name, present in (
            ("client_secret_basic", basic is not None),
            ("client_secret_post", "client_secret" in form),
            ("private_key_jwt", "client_assertion" in form or "client_assertion_type" in form),
        )
        if present
    ]
    if len(methods) > 1:
        raise InvalidRequest("use exactly one client authentication method (RFC 6749 §2.3)")
    method = methods[0] if methods else "none"
    form_client_id = form.get("client_id")
    if method == "client_secret_basic":
        assert basic is not None
        client_id, secret = basic
        if form_client_id is not None and form_client_id != client_id:
            raise InvalidRequest("client_id does not match the Authorization header")
        return Presented(method, client_id, secret=secret)
    if method == "client_secret_post":
        if not form_client_id:
            raise InvalidClient("client_id is required with client_secret_post")
        return Presented(method, form_client_id, secret=form["client_secret"])
    if method == "private_key_jwt":
        return _presented_assertion(form)
    if not form_client_id:
        raise InvalidClient("client authentication is required")
    return Presented("none", form_client_id)


class ClientAuthenticator:
    def __init__(
        self, db: Database, settings: Settings, clients: ClientService, keys: ClientKeys
    ) -> None:
        self.db = db
        self.settings = settings
        self.clients = clients
        self.keys = keys

    async def authenticate(
        self,
        form: Mapping[str, str],
        authorization: str | None,
        endpoint: str,
        *,
        any_secret_method: bool = False,
    ) -> Client:
        """The authenticated client, or ``invalid_client`` (401). ``endpoint`` is the URL the
        request came to, an accepted ``aud`` for client assertions besides the issuer and the
        token endpoint. ``any_secret_method``: where there is no Authorization header (a
        WebSocket frame), a ``client_secret`` stands for either secret method."""
        presented = presented_credentials(form, authorization)
        client = await self.clients.get(presented.client_id)
        if client is None:
            raise InvalidClient("client authentication failed", detail="unknown client")
        registered = client.meta.token_endpoint_auth_method
        either_secret = any_secret_method and {presented.method, registered} <= set(SECRET_METHODS)
        if presented.method != registered and not either_secret:
            raise InvalidClient(
                f"this client must authenticate with {registered}",
                detail=f"presented {presented.method}",
            )
        if presented.secret is not None:
            if not verify_secret(presented.secret, client.client_secret_hash):
                raise InvalidClient("client authentication failed", detail="bad secret")
        elif presented.assertion is not None:
            await self._verify_assertion(client, presented.assertion, endpoint)
        return client

    async def _verify_assertion(self, client: Client, assertion: str, endpoint: str) -> None:
        """RFC 7523 §3: iss = sub = client_id, our issuer or endpoint in aud, exp in the near
        future, a jti never seen before, signed by one of the client's registered keys."""
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise InvalidClient("client_assertion is not a JWT") from None
        alg = header.get("alg")
        allowed = client.meta.token_endpoint_auth_signing_alg
        if alg not in ASYMMETRIC_ALGS or (allowed and alg != allowed):
            raise InvalidClient(
                f"client_assertion must be signed with {allowed or 'an asymmetric alg'}"
            )
        key = await self.keys.key_for(client, header.get("kid"), alg)
        audiences = [self.settings.issuer, self.settings.endpoint("/token"), endpoint]
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[alg],
                audience=list(dict.fromkeys(audiences)),
                issuer=client.client_id,
                leeway=self.settings.clock_skew_seconds,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidClient(f"client_assertion is invalid: {exc}") from None
        if claims["sub"] != client.client_id:
            raise InvalidClient("client_assertion sub must be the client_id")
        if problem := CLIENT_ASSERTION.problem(header, claims):  # not a request object, say
            raise InvalidClient(f"client_assertion: {problem}")
        exp = datetime.fromtimestamp(float(claims["exp"]), UTC)
        lifetime = exp.timestamp() - datetime.now(UTC).timestamp()
        if (
            lifetime
            > self.settings.client_assertion_max_lifetime + self.settings.clock_skew_seconds
        ):
            raise InvalidClient("client_assertion expires too far in the future")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidClient("client_assertion jti must be a string of 1 to 255 characters")
        if not await use_once(self.db, f"client:{client.client_id}", jti, exp):
            raise InvalidClient("client_assertion has been used before", detail="jti replay")


def _is_basic(authorization: str | None) -> bool:
    return bool(authorization) and authorization.split(" ", 1)[0].lower() == "basic"  # type: ignore[union-attr]


def _parse_basic(authorization: str | None) -> tuple[str, str]:
    """RFC 6749 §2.3.1: base64(urlencode(id) ":" urlencode(secret))."""
    assert authorization is not None
    try:
        raw = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True).decode()
        client_id, secret = raw.split(":", 1)
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidClient("malformed HTTP Basic credentials") from None
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not client_id:
        raise InvalidClient("malformed HTTP Basic credentials")
    return client_id, secret


def _presented_assertion(form: Mapping[str, str]) -> Presented:
    if form.get("client_assertion_type") != JWT_BEARER:
        raise InvalidClient(f"client_assertion_type must be {JWT_BEARER}")
    assertion = form.get("client_assertion")
    if not assertion:
        raise InvalidClient("client_assertion is missing")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidClient("client_assertion is not a JWT") from None
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or not client_id:
        raise InvalidClient("client_assertion has no sub")
    if form.get("client_id") not in (None, client_id):
        raise InvalidClient("client_id does not match the client_assertion")
    return Presented("private_key_jwt", client_id, assertion=assertion)
