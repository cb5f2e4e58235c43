"""Registration metadata for clients under a FAPI profile (app/clients/fapi.py)."""

from __future__ import annotations

from typing import Any

from tests.support.clients import ClientKey
from tests.support.web import REDIRECT_URI

CIBA = "urn:openid:params:grant-type:ciba"


def fapi_ciba_metadata(key: ClientKey, **changes: Any) -> dict[str, Any]:
    """A client FAPI-CIBA accepts: poll, private_key_jwt and signed requests with ``key``."""
    metadata = {
        "client_name": "FAPI till",
        "fapi_profile": "fapi-ciba",
        "grant_types": [CIBA],
        "backchannel_token_delivery_mode": "poll",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": key.alg,
        "backchannel_authentication_request_signing_alg": key.alg,
        "jwks": key.jwks,
    }
    metadata.update(changes)
    return {k: v for k, v in metadata.items() if v is not None}


def fapi2_metadata(key: ClientKey, **changes: Any) -> dict[str, Any]:
    """A client FAPI 2.0 Security accepts: PAR, DPoP, private_key_jwt with ``key``."""
    metadata = {
        "client_name": "FAPI shop",
        "fapi_profile": "fapi2-security",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT_URI],
        "scope": "openid profile",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": key.alg,
        "jwks": key.jwks,
        "require_pushed_authorization_requests": True,
        "dpop_bound_access_tokens": True,
    }
    metadata.update(changes)
    return {k: v for k, v in metadata.items() if v is not None}
