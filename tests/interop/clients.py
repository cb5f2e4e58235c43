"""Clients registered for the interop runs, and the configuration a node script receives."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.clients import ClientKey, private_jwk, register
from tests.support.web import REDIRECT_URI

CIBA = "urn:openid:params:grant-type:ciba"
SCOPE = "openid profile offline_access"
ALGS = ("EdDSA", "ES256", "PS256", "RS256")


def ciba_config(
    admin: httpx.Client, issuer: str, username: str, *, jwt_auth: bool = False, **metadata: Any
) -> dict[str, Any]:
    """A poll-mode CIBA client with refresh tokens: secret (basic) or private_key_jwt."""
    key = ClientKey("ES256")
    auth: dict[str, Any] = (
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": key.jwks} if jwt_auth else {}
    )
    client = register(
        admin,
        grant_types=[CIBA, "refresh_token"],
        backchannel_token_delivery_mode="poll",
        scope=SCOPE,
        **auth,
        **metadata,
    )
    config = {
        "flow": "ciba",
        "issuer": issuer,
        "client_id": client["client_id"],
        "scope": SCOPE,
        "login_hint": username,
        "id_token_alg": metadata.get("id_token_signed_response_alg"),
    }
    if jwt_auth:
        config["private_jwk"] = private_jwk(key)
    else:
        config["client_secret"] = client["client_secret"]
    return config


def code_config(admin: httpx.Client, issuer: str, **options: Any) -> dict[str, Any]:
    """A confidential web client (client_secret_basic) on the code flow with PKCE."""
    client = register(
        admin,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        scope=SCOPE,
    )
    return {
        "flow": "code",
        "issuer": issuer,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        **options,
    }
