"""FAPI profiles a client opts into with the ``fapi_profile`` metadata member: the one place
that states their rules.

- ``fapi-ciba``: FAPI: Client Initiated Backchannel Authentication Profile (FAPI-CIBA-ID1) §5.2.2
  — confidential clients authenticated with ``private_key_jwt`` (item 7), signed authentication
  requests (item 2, CIBA Core §7.1.1), PS256 or ES256 only (FAPI 1.0 Advanced §8.6), no push
  mode (item 4), and a bounded ``requested_expiry``.
- ``fapi2-security``: FAPI 2.0 Security Profile §5.3 — PAR required (§5.3.2.2 item 2), with a
  ``redirect_uri`` (item 8); PKCE with S256 (item 3); sender-constrained access tokens, here
  DPoP (§5.3.2.1 item 1); ``private_key_jwt`` (§5.3.2.1 item 4) with PS256, ES256 or EdDSA
  (§5.4.1); ``iss`` in every authorization response (item 7, RFC 9207: always sent); codes that
  live at most 60 seconds (item 5).

Registration refuses metadata that breaks a rule (``invalid_client_metadata``); the runtime
checks below refuse a request that breaks one with the OAuth error its endpoint uses. Rules that
registration turns into existing metadata are enforced where that metadata is:
``private_key_jwt`` and its alg (app/clients/authentication.py), the signing alg of request
objects (app/ciba/request_object.py), PAR (``require_pushed_authorization_requests``) and DPoP
(``dpop_bound_access_tokens``, app/dpop/binding.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from app.errors import InvalidClientMetadata, InvalidRequest, OAuthError

if TYPE_CHECKING:
    from app.clients.metadata import ClientMetadata

FAPI_CIBA = "fapi-ciba"
FAPI2_SECURITY = "fapi2-security"
PROFILES = (FAPI_CIBA, FAPI2_SECURITY)

CIBA_ALGS = ("PS256", "ES256")
FAPI2_ALGS = ("PS256", "ES256", "EdDSA")
CIBA_MAX_REQUESTED_EXPIRY = 600  # seconds: a decoupled approval is minutes, not hours
CODE_LIFETIME = 60


def check_metadata(meta: ClientMetadata) -> None:
    """Registration: refuse metadata no request could use under the client's profile."""
    profile = meta.fapi_profile
    if profile is None:
        return
    algs = CIBA_ALGS if profile == FAPI_CIBA else FAPI2_ALGS
    if meta.token_endpoint_auth_method != "private_key_jwt":
        raise _bad(profile, "token_endpoint_auth_method must be private_key_jwt")
    if meta.token_endpoint_auth_signing_alg not in algs:
        raise _bad(profile, f"token_endpoint_auth_signing_alg must be {' or '.join(algs)}")
    if profile == FAPI_CIBA:
        _check_ciba(meta)
    else:
        _check_fapi2(meta)


def _check_ciba(meta: ClientMetadata) -> None:
    from app.clients.metadata import CIBA

    if CIBA not in meta.grant_types:
        raise _bad(FAPI_CIBA, f"grant_types must include {CIBA}")
    if meta.backchannel_authentication_request_signing_alg not in CIBA_ALGS:
        raise _bad(
            FAPI_CIBA, "backchannel_authentication_request_signing_alg must be PS256 or ES256"
        )
    if meta.backchannel_token_delivery_mode == "push":
        raise _bad(FAPI_CIBA, "push mode is not allowed; use poll or ping")


def _check_fapi2(meta: ClientMetadata) -> None:
    from app.clients.metadata import AUTHORIZATION_CODE

    if AUTHORIZATION_CODE not in meta.grant_types:
        raise _bad(FAPI2_SECURITY, "grant_types must include authorization_code")
    if not meta.require_pushed_authorization_requests:
        raise _bad(FAPI2_SECURITY, "require_pushed_authorization_requests must be true")
    if not meta.dpop_bound_access_tokens:
        raise _bad(FAPI2_SECURITY, "dpop_bound_access_tokens must be true (sender-constrained)")


def _bad(profile: str, reason: str) -> OAuthError:
    return InvalidClientMetadata(f"fapi_profile {profile}: {reason}")


# Runtime rules: each a few lines, called where its request is read.


def check_ciba_request(meta: ClientMetadata, form: Mapping[str, str]) -> None:
    """FAPI-CIBA §5.2.2 item 2: the authentication request is a signed request object."""
    if meta.fapi_profile == FAPI_CIBA and "request" not in form:
        raise InvalidRequest("FAPI-CIBA: the authentication request must be a signed request")


def check_requested_expiry(meta: ClientMetadata, requested: object) -> None:
    """FAPI-CIBA: ``requested_expiry`` at most CIBA_MAX_REQUESTED_EXPIRY seconds."""
    if meta.fapi_profile != FAPI_CIBA or requested is None:
        return
    text = str(requested)
    if text.isascii() and text.isdigit() and int(text) > CIBA_MAX_REQUESTED_EXPIRY:
        raise InvalidRequest(
            f"FAPI-CIBA: requested_expiry must be at most {CIBA_MAX_REQUESTED_EXPIRY} seconds"
        )


def check_pushed_request(meta: ClientMetadata, params: Mapping[str, str]) -> None:
    """FAPI 2.0 §5.3.2.2 item 3: PKCE with S256 (item 8, ``redirect_uri`` in the pushed
    request, holds for every client here)."""
    if meta.fapi_profile != FAPI2_SECURITY:
        return
    if "code_challenge" not in params or params.get("code_challenge_method") != "S256":
        raise InvalidRequest("FAPI 2.0: PKCE with code_challenge_method S256 is required")


def max_code_lifetime(meta: ClientMetadata) -> int | None:
    """FAPI 2.0 §5.3.2.2 item 5: codes live at most 60 seconds (None: no profile limit)."""
    return CODE_LIFETIME if meta.fapi_profile == FAPI2_SECURITY else None
