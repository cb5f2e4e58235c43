"""The client credentials grant (RFC 6749 §4.4): an access token for the client itself."""

from __future__ import annotations

from typing import Any

from app.clients.metadata import CLIENT_CREDENTIALS
from app.errors import InvalidScope, UnauthorizedClient
from app.tokens.grant import TokenRequest
from app.tokens.scopes import granted_scope


class ClientCredentialsGrant:
    grant_type = CLIENT_CREDENTIALS

    async def __call__(self, request: TokenRequest) -> dict[str, Any]:
        client = request.client
        if client.meta.is_public:
            raise UnauthorizedClient("public clients cannot use client_credentials")
        scope = granted_scope(request.form.get("scope"), client)
        # No user is present, so OpenID scopes would promise claims no one consented to.
        if {"openid", "offline_access"} & set(scope.split()):
            if "scope" in request.form:
                raise InvalidScope(
                    "openid and offline_access need a user; not for client_credentials"
                )
            scope = " ".join(s for s in scope.split() if s not in ("openid", "offline_access"))
        settings = request.services.settings
        jkt = request.dpop_jkt
        token = await request.services.minter.access_token(client, scope, dpop_jkt=jkt)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": settings.access_token_lifetime,
        }
        if scope:
            body["scope"] = scope
        return body
