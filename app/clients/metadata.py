"""Client metadata (RFC 7591 §2 names, OpenID Registration, CIBA Core §4) and its validation.

Unknown members are ignored, as RFC 7591 §2 asks. Field-level problems raise
``invalid_client_metadata``; redirect URI problems raise ``invalid_redirect_uri``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from jwt import PyJWK, PyJWTError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.clients import fapi
from app.errors import InvalidClientMetadata, InvalidRedirectUri, describe
from app.outbound import check_outbound_url
from app.rar.types import registry
from app.settings import SIGNING_ALGS, Settings, is_loopback_host

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
CLIENT_CREDENTIALS = "client_credentials"
CIBA = "urn:openid:params:grant-type:ciba"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS, CIBA)

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")

ASYMMETRIC_ALGS = SIGNING_ALGS
SignAlg = Literal["EdDSA", "ES256", "PS256", "RS256"]

CLIENT_ID_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"
# RFC 6749 §3.3 scope-token: printable ASCII except space, double quote and backslash.
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")


class ClientMetadata(BaseModel):
    """What an operator registers for a client. Stored as JSON, so new members need no migration."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    client_id: str | None = Field(None, pattern=CLIENT_ID_PATTERN)
    client_name: str | None = Field(None, max_length=200)
    redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    grant_types: list[Literal[GRANT_TYPES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: [AUTHORIZATION_CODE], min_length=1
    )
    token_endpoint_auth_method: Literal[AUTH_METHODS] = "client_secret_basic"  # type: ignore[valid-type]
    token_endpoint_auth_signing_alg: SignAlg | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(None, max_length=2000)
    backchannel_token_delivery_mode: Literal["poll", "ping", "push"] | None = None
    backchannel_client_notification_endpoint: str | None = Field(None, max_length=2000)
    backchannel_authentication_request_signing_alg: SignAlg | None = None
    backchannel_user_code_parameter: bool = False
    subject_type: Literal["public", "pairwise"] = "public"
    sector_identifier_uri: str | None = Field(None, max_length=2000)
    id_token_signed_response_alg: SignAlg | None = None
    scope: str = Field("openid", max_length=1000)
    require_pushed_authorization_requests: bool = False  # RFC 9126 §6
    # Registers the client as a resource server (RFC 7662 §4): the access token ``aud`` values
    # that name it. It may introspect every access token whose ``aud`` holds one of them; other
    # clients only the tokens issued to them.
    resource_server_audiences: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=20
    )

    # RFC 9396 §10: the authorization_details types this client may ask for (None: any known).
    authorization_details_types: (
        list[Annotated[str, Field(min_length=1, max_length=100)]] | None
    ) = Field(None, max_length=50)
    # RFC 9449 §5.2: always sender-constrain this client's access tokens with DPoP.
    dpop_bound_access_tokens: bool = False
    # A FAPI profile whose rules bind this client (app/clients/fapi.py).
    fapi_profile: Literal[fapi.PROFILES] | None = None  # type: ignore[valid-type]

    @field_validator("grant_types")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("scope")
    @classmethod
    def _scope_tokens(cls, value: str) -> str:
        tokens = value.split()
        if not all(SCOPE_TOKEN.match(t) for t in tokens):
            raise ValueError("scope must be space-separated scope tokens (RFC 6749 §3.3)")
        return " ".join(dict.fromkeys(tokens))

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def uses_secret(self) -> bool:
        return self.token_endpoint_auth_method in SECRET_METHODS

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def sector_identifier(self) -> str | None:
        """The host pairwise subjects are computed for (OpenID Core §8.1; CIBA Core §4: without
        redirect URIs, the host of ``jwks_uri`` or of the notification endpoint). Operators
        register clients themselves, so a ``sector_identifier_uri`` is trusted, not fetched."""
        if self.sector_identifier_uri:
            return urlsplit(self.sector_identifier_uri).hostname
        hosts = {urlsplit(u).hostname for u in self.redirect_uris}
        if len(hosts) == 1:
            return hosts.pop()
        if hosts:
            return None
        for uri in (self.jwks_uri, self.backchannel_client_notification_endpoint):
            if uri:
                return urlsplit(uri).hostname
        return None


def parse_metadata(data: Any, settings: Settings) -> ClientMetadata:
    """Validate registration input as a whole; raises the RFC 7591 errors."""
    if not isinstance(data, dict):
        raise InvalidClientMetadata("the request body must be a JSON object")
    try:
        meta = ClientMetadata.model_validate(data)
    except ValidationError as exc:
        raise InvalidClientMetadata(describe(exc)) from None
    for uri in meta.redirect_uris:
        _check_redirect_uri(uri)
    _check_consistency(meta, settings)
    return meta


def redirect_uri_problem(uri: str) -> str | None:
    """What makes ``uri`` unfit to send a code to, whatever was registered: userinfo, a
    backslash or a control character lets parsers (ours, a browser's) disagree on the host —
    ``http://x@127.0.0.1:5555/cb`` or ``http://localhost:8401\\@127.0.0.1/cb`` would pass a
    check that compares only the host (RFC 9700 §4.1.3 asks for exact matching)."""
    if "\\" in uri or any(ord(c) < 0x21 or ord(c) == 0x7F for c in uri):
        return "redirect URIs must not contain backslashes, spaces or control characters"
    if "@" in urlsplit(uri).netloc:
        return "redirect URIs must not contain userinfo (user@host)"
    return None


def _check_redirect_uri(uri: str) -> None:
    """RFC 6749 §3.1.2, RFC 8252 §7: absolute, no fragment; https, http on loopback, or a
    private-use scheme (reverse domain name, so it contains a dot)."""
    parts = urlsplit(uri)
    if not parts.scheme or len(uri) > 2000:
        raise InvalidRedirectUri("redirect_uris must be absolute URIs")
    if problem := redirect_uri_problem(uri):
        raise InvalidRedirectUri(problem)
    if parts.fragment or "#" in uri:
        raise InvalidRedirectUri("redirect_uris must not contain a fragment")
    if parts.scheme == "https":
        if not parts.hostname:
            raise InvalidRedirectUri("an https redirect URI needs a host")
    elif parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise InvalidRedirectUri("http redirect URIs are allowed only on loopback hosts")
    elif "." not in parts.scheme:
        raise InvalidRedirectUri(
            "redirect URIs must be https, http on a loopback host, or a private-use scheme "
            "such as com.example.app:/callback"
        )


def _check_consistency(meta: ClientMetadata, settings: Settings) -> None:
    grants = set(meta.grant_types)
    bad = InvalidClientMetadata
    if AUTHORIZATION_CODE in grants and not meta.redirect_uris:
        raise InvalidRedirectUri("the authorization_code grant needs at least one redirect URI")
    if meta.is_public and not grants <= {AUTHORIZATION_CODE, REFRESH_TOKEN}:
        raise bad("public clients (auth method 'none') may use only the code and refresh grants")
    if meta.is_public and meta.resource_server_audiences:
        raise bad("a resource server must be a confidential client: it introspects tokens")
    if meta.authorization_details_types is not None:
        known = registry(settings.authorization_details_types_file).types
        unknown = [t for t in meta.authorization_details_types if t not in known]
        if unknown:
            raise bad(f"unknown authorization_details type {unknown[0][:50]!r}")
    if meta.jwks is not None and meta.jwks_uri is not None:
        raise bad("jwks and jwks_uri must not both be present (RFC 7591 §2)")
    if meta.jwks is not None:
        _check_jwks(meta.jwks)
    if meta.jwks_uri is not None:
        _outbound(meta.jwks_uri, "jwks_uri", settings)
    needs_keys = (
        meta.token_endpoint_auth_method == "private_key_jwt"
        or meta.backchannel_authentication_request_signing_alg is not None
    )
    if needs_keys and meta.jwks is None and meta.jwks_uri is None:
        raise bad("private_key_jwt and signed requests need jwks or jwks_uri")
    if CIBA in grants:
        _check_ciba(meta, settings)
    elif meta.backchannel_token_delivery_mode or meta.backchannel_client_notification_endpoint:
        raise bad(f"backchannel_* metadata needs the {CIBA} grant type")
    if meta.subject_type == "pairwise" and meta.sector_identifier() is None:
        raise bad(
            "a pairwise client needs a sector_identifier_uri, or redirect URIs on one host, "
            "or (CIBA) a jwks_uri or notification endpoint"
        )
    if meta.sector_identifier_uri is not None:
        parts = urlsplit(meta.sector_identifier_uri)
        if parts.scheme != "https" or not parts.hostname:
            raise bad("sector_identifier_uri must be an https URL")
    fapi.check_metadata(meta)


def _check_ciba(meta: ClientMetadata, settings: Settings) -> None:
    bad = InvalidClientMetadata
    if meta.is_public:
        raise bad("CIBA clients must be confidential")
    mode = meta.backchannel_token_delivery_mode
    if mode is None:
        raise bad("CIBA clients must register backchannel_token_delivery_mode (poll, ping, push)")
    endpoint = meta.backchannel_client_notification_endpoint
    if mode in ("ping", "push"):
        if endpoint is None:
            raise bad(f"{mode} mode needs backchannel_client_notification_endpoint")
        _outbound(endpoint, "backchannel_client_notification_endpoint", settings)
    elif endpoint is not None:
        raise bad("poll mode takes no backchannel_client_notification_endpoint")


def _outbound(url: str, name: str, settings: Settings) -> None:
    try:
        check_outbound_url(url, settings)
    except ValueError as exc:
        raise InvalidClientMetadata(f"{name} {exc}") from None


def _check_jwks(jwks: dict[str, Any]) -> None:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys or len(keys) > 20:
        raise InvalidClientMetadata("jwks must be a JWK Set with 1 to 20 keys")
    for key in keys:
        if not isinstance(key, dict):
            raise InvalidClientMetadata("jwks keys must be JSON objects")
        if any(private in key for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise InvalidClientMetadata("jwks must contain public keys only")
        try:
            PyJWK(key)
        except (PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidClientMetadata(f"jwks contains an unusable key: {exc}") from None
