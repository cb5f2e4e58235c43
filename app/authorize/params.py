"""Checking an authorization request (RFC 6749 §4.1.1, OpenID Core §3.1.2.1, RFC 7636).

Two stages, because they fail differently (RFC 6749 §4.1.2.1): until the client and its
``redirect_uri`` are known, an error can only be shown to the user (``NoRedirect``); after, every
error goes back to the client at that URI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from app.authorize import pkce
from app.clients import fapi
from app.clients.metadata import AUTHORIZATION_CODE, redirect_uri_problem
from app.clients.models import Client
from app.errors import (
    InvalidRequest,
    InvalidScope,
    RequestNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from app.rar import validate as rar
from app.rar.types import registry
from app.settings import Settings
from app.tokens.scopes import granted_scope

LOOPBACK_IPS = ("127.0.0.1", "::1")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
RESPONSE_MODES = ("query", "form_post")
JWK_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")  # RFC 7638 with SHA-256, base64url
# Bounds on what we keep and echo; generous for any real client.
MAX_LENGTH = {"state": 2000, "nonce": 500, "login_hint": 256, "acr_values": 500, "scope": 1000}


class NoRedirect(Exception):
    """The request cannot be trusted to name where to send the user back: an error page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AuthorizationParams:
    """A checked authorization request, as kept while the user logs in."""

    client_id: str
    redirect_uri: str
    scope: str
    response_mode: str = "query"
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    login_hint: str | None = None
    acr_values: str | None = None
    authorization_details: list[dict[str, Any]] | None = None  # RFC 9396 §3
    max_code_lifetime: int | None = None  # the client's FAPI profile may cap it
    # RFC 9449 §10: the DPoP key the code is bound to (its JWK SHA-256 thumbprint); from the
    # request's dpop_jkt, or from the proof sent to /par.
    dpop_jkt: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuthorizationParams | None:
        """Read back what ``to_json`` stored; None when a row of another shape (a server of
        another version wrote it) lacks what this one needs. Unknown members are ignored."""
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError:
            return None


def redirect_uri(params: Mapping[str, str], client: Client, repeated: set[str]) -> str:
    """The registered redirect URI the request names, compared exactly (RFC 9700 §4.1.3)."""
    if "redirect_uri" in repeated:
        raise NoRedirect("The request repeats redirect_uri.")
    uri = params.get("redirect_uri")
    if uri is None:
        raise NoRedirect("The request names no redirect_uri.")
    if not is_registered(uri, client):
        raise NoRedirect("The redirect_uri is not registered for this application.")
    return uri


def is_registered(uri: str, client: Client) -> bool:
    """Exact match, except that a native app on a loopback IP may use any port (RFC 8252
    §7.3: the port is chosen when the app starts listening). A URI with userinfo, a backslash
    or a control character never matches, even if registered (clients from before the rule)."""
    if redirect_uri_problem(uri) is not None:
        return False
    if uri in client.meta.redirect_uris:
        return True
    asked = _without_port(uri)
    if asked is None:
        return False
    return any(asked == _without_port(r) for r in client.meta.redirect_uris)


def _without_port(uri: str) -> tuple[str, str, str, str] | None:
    """Scheme, host, path and query of an http loopback-IP URI, each to be compared exactly;
    None for any other URI (or a malformed port)."""
    if redirect_uri_problem(uri) is not None:
        return None
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_IPS or parts.fragment:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.netloc not in (host, f"{host}:{port}"):
        return None  # only host[:port] in the authority: nothing else for a parser to read
    return (parts.scheme, parts.hostname, parts.path, parts.query)


def response_mode(params: Mapping[str, str]) -> str:
    """Where errors go, decided before anything else is checked: an unknown mode gets its
    error in the default (query) mode."""
    mode = params.get("response_mode", "query")
    return mode if mode in RESPONSE_MODES else "query"


def validate(
    params: Mapping[str, str],
    client: Client,
    settings: Settings,
    *,
    uri: str,
    repeated: set[str],
) -> AuthorizationParams:
    """Every check after the redirect URI; each failure is an ``OAuthError`` for the client."""
    if repeated:
        raise InvalidRequest(f"parameter '{sorted(repeated)[0]}' is repeated")
    if "request" in params:
        raise RequestNotSupported("request objects are not supported at /authorize; use /par")
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    if params.get("response_mode", "query") not in RESPONSE_MODES:
        raise InvalidRequest("response_mode must be query or form_post")
    if AUTHORIZATION_CODE not in client.meta.grant_types:
        raise UnauthorizedClient("the client is not registered for the authorization_code grant")
    for name, limit in MAX_LENGTH.items():
        if len(params.get(name, "")) > limit:
            raise InvalidRequest(f"{name} is longer than {limit} characters")
    scope = params.get("scope")
    if scope is None or "openid" not in scope.split():
        raise InvalidScope("scope must include openid")
    challenge, method = pkce.check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        required=client.meta.is_public,
        settings=settings,
    )
    return AuthorizationParams(
        client_id=client.client_id,
        redirect_uri=uri,
        scope=granted_scope(scope, client),
        response_mode=response_mode(params),
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=challenge,
        code_challenge_method=method,
        prompt=_prompt(params.get("prompt")),
        max_age=_max_age(params.get("max_age")),
        login_hint=params.get("login_hint"),
        acr_values=params.get("acr_values"),
        authorization_details=_details(params.get("authorization_details"), client, settings),
        max_code_lifetime=fapi.max_code_lifetime(client.meta),
        dpop_jkt=_dpop_jkt(params.get("dpop_jkt")),
    )


def _details(value: str | None, client: Client, settings: Settings) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    return rar.parse(value, client, registry(settings.authorization_details_types_file))


def _dpop_jkt(value: str | None) -> str | None:
    if value is not None and not JWK_THUMBPRINT.fullmatch(value):
        raise InvalidRequest("dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)")
    return value


def _prompt(value: str | None) -> list[str]:
    """OpenID Core §3.1.2.1: space-separated; ``none`` stands alone."""
    prompts = list(dict.fromkeys((value or "").split()))
    unknown = [p for p in prompts if p not in PROMPTS]
    if unknown:
        raise InvalidRequest(f"unsupported prompt value: {unknown[0][:50]}")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return prompts


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise InvalidRequest("max_age must be a non-negative number of seconds")
    return int(value)
