"""Minting ID tokens (OpenID Core §2) and JWT access tokens (RFC 9068)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from app.clients.models import Client
from app.keys.service import KeyStore
from app.settings import Settings
from app.tokens.hashes import token_hash

RT_HASH_CLAIM = "urn:openid:params:jwt:claim:rt_hash"
# The refresh token family an access token was issued with (RFC 7009 §2.1).
GRANT_ID_CLAIM = "grant_id"


@dataclass(frozen=True)
class Authentication:
    """How and when the user authenticated, carried into tokens."""

    subject: str
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()


class TokenMinter:
    def __init__(self, settings: Settings, keys: KeyStore) -> None:
        self.settings = settings
        self.keys = keys

    async def access_token(
        self,
        client: Client,
        scope: str,
        auth: Authentication | None = None,
        *,
        jti: str | None = None,
        grant_id: str | None = None,
        authorization_details: list[dict[str, Any]] | None = None,
        dpop_jkt: str | None = None,
    ) -> str:
        """An RFC 9068 access token. Without a user (client_credentials), ``sub`` is the
        client_id (RFC 9068 §2.2). A caller that must revoke it later names its ``jti``;
        ``grant_id`` (the refresh token family) lets revoking the grant end it too. What the
        user approved rides along as ``authorization_details`` (RFC 9396 §9.1); a DPoP-bound
        token names its key as ``cnf.jkt`` (RFC 9449 §6.1)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": self.settings.issuer,
            "sub": auth.subject if auth else client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + self.settings.access_token_lifetime,
            "jti": jti or uuid.uuid4().hex,
        }
        if scope:
            claims["scope"] = scope
        if grant_id:
            claims[GRANT_ID_CLAIM] = grant_id
        if authorization_details:
            claims["authorization_details"] = authorization_details
        if dpop_jkt:
            claims["cnf"] = {"jkt": dpop_jkt}
        if auth:
            claims.update(_auth_claims(auth))
        signer = await self.keys.signer(self.settings.default_signing_alg)
        return signer.sign(claims, typ="at+jwt")

    async def id_token(
        self,
        client: Client,
        auth: Authentication,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        code: str | None = None,
        refresh_token: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        alg = client.meta.id_token_signed_response_alg or self.settings.id_token_signing_alg
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": auth.subject,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + self.settings.id_token_lifetime,
            **_auth_claims(auth),
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = token_hash(access_token, alg)
        if code:
            claims["c_hash"] = token_hash(code, alg)
        if refresh_token:
            claims[RT_HASH_CLAIM] = token_hash(refresh_token, alg)
        claims.update(extra or {})
        signer = await self.keys.signer(alg)
        return signer.sign(claims)


def _auth_claims(auth: Authentication) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if auth.auth_time is not None:
        claims["auth_time"] = auth.auth_time
    if auth.acr:
        claims["acr"] = auth.acr
    if auth.amr:
        claims["amr"] = list(auth.amr)
    return claims
