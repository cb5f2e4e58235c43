"""What discovery advertises, derived from the settings and the registered grants."""

from __future__ import annotations

from typing import Any

from app.authorize.pkce import methods_supported
from app.clients.metadata import AUTH_METHODS, AUTHORIZATION_CODE, CIBA
from app.devices.decisions import ACR
from app.dpop.proof import DPOP_ALGS
from app.rar.types import registry
from app.settings import SIGNING_ALGS, Settings
from app.tokens.registry import GRANTS

SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
CLAIMS = (
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
    "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
    "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    "email", "email_verified", "phone_number", "phone_number_verified", "address",
)  # fmt: skip


def provider_metadata(settings: Settings) -> dict[str, Any]:
    url = settings.endpoint
    grants = sorted(GRANTS)
    return {
        "issuer": settings.issuer,
        "jwks_uri": url("/jwks"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "revocation_endpoint": url("/revoke"),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        # RFC 8414 §2: MUST be present where private_key_jwt is offered at that endpoint.
        "revocation_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "introspection_endpoint": url("/introspect"),
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "introspection_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        "subject_types_supported": ["public", "pairwise"],
        "scopes_supported": list(SCOPES),
        "claims_supported": list(CLAIMS),
        "response_types_supported": ["code"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        **(_authorize(settings) if AUTHORIZATION_CODE in grants else {}),
        "acr_values_supported": [ACR],
        # RFC 9396 §10, RFC 9449 §5.1
        "authorization_details_types_supported": registry(
            settings.authorization_details_types_file
        ).names(),
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        **(_ciba(settings) if CIBA in grants else {}),
    }


def _authorize(settings: Settings) -> dict[str, Any]:
    """RFC 8414, RFC 7636, RFC 9126 §5, RFC 9207 §3, OpenID Discovery §3."""
    return {
        "authorization_endpoint": settings.endpoint("/authorize"),
        "response_modes_supported": ["query", "form_post"],
        "code_challenge_methods_supported": methods_supported(settings),
        "pushed_authorization_request_endpoint": settings.endpoint("/par"),
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    }


def _ciba(settings: Settings) -> dict[str, Any]:
    """CIBA Core §4."""
    return {
        "backchannel_authentication_endpoint": settings.endpoint("/bc-authorize"),
        "backchannel_token_delivery_modes_supported": ["poll", "ping", "push"],
        "backchannel_authentication_request_signing_alg_values_supported": list(SIGNING_ALGS),
        "backchannel_user_code_parameter_supported": True,
    }
