"""Protocol errors: one class per error code, rendered by one handler.

RFC 6749 §5.2 (token endpoint), RFC 6750 §3.1 (bearer tokens), RFC 7591 §3.2.2 (client metadata),
OpenID CIBA Core §13 (backchannel authentication). Each class carries the code, the HTTP status and
the spec's own words as its docstring. ``description`` is shown to the client; ``detail`` goes only
to the logs.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

BASIC_CHALLENGE = 'Basic realm="backchannel"'

# RFC 6749 §5.2: error and error_description use only %x20-21 / %x23-5B / %x5D-7E.
_QUOTES = str.maketrans({'"': "'", "\\": "/", "\t": " ", "\r": " ", "\n": " "})


def error_text(text: str) -> str:
    """``text`` in RFC 6749 §5.2's characters: descriptions often carry a library's words (PyJWT
    quotes claim names) or an echo of input, so quotes become apostrophes, backslashes slashes,
    line breaks spaces, and anything else outside printable ASCII a '?'."""
    text = text.translate(_QUOTES)
    if text.isascii() and text.isprintable():  # the usual case, without a look at each char
        return text
    return "".join(c if " " <= c <= "~" else "?" for c in text)


class OAuthError(Exception):
    """Base of every error rendered as ``{"error", "error_description"}``."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        description: str | None = None,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.detail = detail
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = error_text(self.description)
        return body


def E(code: str, status: int = 400, doc: str = "") -> type[OAuthError]:
    """Make an error class for one code, as node-oidc-provider's error factory does."""
    name = "".join(part.title() for part in code.split("_"))
    return type(name, (OAuthError,), {"error": code, "status_code": status, "__doc__": doc})


InvalidRequest = E(
    "invalid_request",
    400,
    "The request is missing a required parameter, includes an unsupported parameter value, "
    "repeats a parameter, or is otherwise malformed.",
)
UnauthorizedClient = E(
    "unauthorized_client", 400, "The client is not authorized to use this grant type."
)
UnsupportedGrantType = E(
    "unsupported_grant_type", 400, "The grant type is not supported by the server."
)
InvalidGrant = E(
    "invalid_grant",
    400,
    "The grant is invalid, expired, revoked, or was issued to another client.",
)
InvalidScope = E(
    "invalid_scope", 400, "The requested scope is invalid, unknown, or exceeds what was granted."
)
AccessDenied = E("access_denied", 403, "The resource owner or server denied the request.")
# At the token endpoint every error is a 400 (RFC 6749 §5.2, CIBA Core §11).
TokenAccessDenied = E("access_denied", 400, "The end-user denied the authorization request.")
InvalidClientMetadata = E(
    "invalid_client_metadata", 400, "The value of one of the client metadata fields is invalid."
)
InvalidRedirectUri = E(
    "invalid_redirect_uri", 400, "The value of one or more redirection URIs is invalid."
)
NotFound = E("not_found", 404, "No such resource.")
Conflict = E("conflict", 409, "The resource conflicts with one that exists.")
ServerError = E("server_error", 500, "The server met an unexpected condition.")
TemporarilyUnavailable = E(
    "temporarily_unavailable", 503, "The server is temporarily unable to handle the request."
)

# RFC 6749 §4.1.2.1, RFC 9126 §2.3, OpenID Core §3.1.2.6 (authorization endpoint).
UnsupportedResponseType = E(
    "unsupported_response_type",
    400,
    "The authorization server does not support obtaining an authorization code using this method.",
)
InvalidRequestUri = E(
    "invalid_request_uri", 400, "The request_uri is invalid, expired, or was used already."
)
RequestNotSupported = E("request_not_supported", 400, "The request parameter is not supported.")
LoginRequired = E("login_required", 400, "The end-user must authenticate: prompt=none failed.")
ConsentRequired = E("consent_required", 400, "The end-user must consent: prompt=none failed.")

# OpenID CIBA Core §13 (authentication endpoint) and §11 (token endpoint).
ExpiredLoginHintToken = E(
    "expired_login_hint_token", 400, "The login_hint_token provided has expired."
)
UnknownUserId = E(
    "unknown_user_id",
    400,
    "The OpenID Provider is not able to identify which end-user the "
    "client wishes to be authenticated by means of the hint provided in the request.",
)
MissingUserCode = E(
    "missing_user_code", 400, "User code is required but was missing from the request."
)
InvalidUserCode = E("invalid_user_code", 400, "User code was invalid.")
InvalidBindingMessage = E(
    "invalid_binding_message", 400, "The binding message is invalid or unacceptable."
)
RequestUriNotSupported = E(
    "request_uri_not_supported", 400, "The request_uri parameter is not supported."
)
AuthorizationPending = E(
    "authorization_pending",
    400,
    "The authorization request is still pending as the end-user hasn't yet been authenticated.",
)
SlowDown = E(
    "slow_down",
    400,
    "The authorization request is still pending and polling should continue, "
    "but the interval must be increased by at least 5 seconds for this and subsequent requests.",
)
ExpiredToken = E(
    "expired_token",
    400,
    "The auth_req_id has expired. The client will need to make a new authentication request.",
)
TransactionFailed = E(
    "transaction_failed",
    400,
    "The OpenID Provider encountered an unexpected condition that "
    "prevented it from successfully completing the transaction.",
)
InvalidAuthorizationDetails = E(
    "invalid_authorization_details",
    400,
    "The authorization_details parameter is invalid: an unknown type, a type the client may not "
    "use, or an object that does not follow its type's schema (RFC 9396 §5).",
)
InvalidDpopProof = E(
    "invalid_dpop_proof", 400, "The DPoP proof JWT is invalid (RFC 9449 §5, §12.2)."
)


class UseDpopNonce(OAuthError):
    """The authorization server requires a nonce in the DPoP proof (RFC 9449 §8): the fresh
    nonce travels in the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, description: str | None = None, *, nonce: str = "") -> None:
        super().__init__(description, headers={"DPoP-Nonce": nonce} if nonce else None)


class ResourceUseDpopNonce(UseDpopNonce):
    """The same at a resource (``/userinfo``, RFC 9449 §9): 401 with a DPoP challenge."""

    status_code = 401

    def __init__(self, description: str | None = None, *, nonce: str = "") -> None:
        super().__init__(description, nonce=nonce)
        self.headers["WWW-Authenticate"] = _dpop_challenge(
            "use_dpop_nonce", description or "use_dpop_nonce"
        )


class TooManyRequests(OAuthError):
    """A rate limit was hit (RFC 6585 §4): 429 with ``Retry-After``. The error code is
    ``temporarily_unavailable`` (RFC 6749 §4.1.2.1), the nearest code OAuth defines."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, headers={"Retry-After": str(max(retry_after, 1))})


class InvalidClient(OAuthError):
    """Client authentication failed (unknown client, no client authentication included, or
    unsupported authentication method). RFC 6749 §5.2: 401. RFC 9110 §11.6.1 makes every 401
    carry a challenge, so this one always names HTTP Basic (the scheme a client may retry with),
    not only when the client tried it."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description, detail=detail, headers={"WWW-Authenticate": BASIC_CHALLENGE})


class InvalidToken(OAuthError):
    """The access token is missing, expired, revoked, malformed, or invalid (RFC 6750 §3.1)."""

    error = "invalid_token"
    status_code = 401

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        challenge = 'Bearer realm="backchannel"'
        if description:
            safe = error_text(description)
            challenge += f', error="invalid_token", error_description="{safe}"'
        super().__init__(description, detail=detail, headers={"WWW-Authenticate": challenge})


class InvalidDpopToken(InvalidToken):
    """A DPoP-bound access token presented without its proof, or with a wrong one (RFC 9449
    §7.1): 401 with a DPoP challenge."""

    def __init__(self, description: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.headers["WWW-Authenticate"] = _dpop_challenge(
            "invalid_token", description or "invalid_token"
        )


def _dpop_challenge(error: str, description: str) -> str:
    """A resource's ``WWW-Authenticate: DPoP`` challenge (RFC 9449 §7.1)."""
    safe = error_text(description)
    return f'DPoP algs="ES256 PS256 EdDSA RS256", error="{error}", error_description="{safe}"'


class InsufficientScope(OAuthError):
    """The request requires higher privileges than provided by the access token (RFC 6750
    §3.1): 403 with a Bearer challenge."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str, *, scope: str) -> None:
        challenge = f'Bearer realm="backchannel", error="insufficient_scope", scope="{scope}"'
        super().__init__(description, headers={"WWW-Authenticate": challenge})


def refuse_nul(name: str, value: str) -> str:
    """NUL never belongs in text we store or look up (PostgreSQL refuses it): ``invalid_request``.
    Forms are checked on arrival; this is for text that arrives inside JWTs."""
    if "\x00" in value:
        raise InvalidRequest(f"{name} must not contain NUL characters")
    return value


def describe(exc: ValidationError) -> str:
    """A one-line, client-facing summary of a pydantic error (no input values echoed)."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], data: Any) -> M:
    """Validate a JSON body against ``model``; any problem is ``invalid_request``."""
    if not isinstance(data, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe(exc)) from None
