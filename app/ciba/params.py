"""The checks every decoupled login start shares (``/bc-authorize`` and the headless ``start``):
scope, hint, binding message, user code, expiry, notification token. One validator, so the two
entrances cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.ciba.hints import HINTS, find_user
from app.clients.models import Client
from app.errors import (
    AccessDenied,
    InvalidBindingMessage,
    InvalidRequest,
    InvalidUserCode,
    MissingUserCode,
    refuse_nul,
)
from app.rar import validate as rar
from app.rar.types import registry
from app.services import Services
from app.tokens.scopes import granted_scope
from app.users.models import User
from app.users.user_code import check_user_code

BINDING_MESSAGE_MAX = 100  # characters; a phone shows it in full on one screen
JOINERS = frozenset("\u200c\u200d")
NOTIFICATION_TOKEN_MAX = 1024
# RFC 6750 §2.1 b64token: what a Bearer credential may look like.
B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
STRING_PARAMS = (
    *HINTS,
    "scope",
    "acr_values",
    "binding_message",
    "user_code",
    "client_notification_token",
)


@dataclass(frozen=True)
class Ask:
    """A validated request to authenticate someone. ``user`` None: nobody named (headless QR)."""

    user: User | None
    scope: str
    expires_in: int
    acr_values: str | None = None
    binding_message: str | None = None
    client_notification_token: str | None = None
    user_code_checked: bool = False
    authorization_details: list[dict[str, Any]] | None = None  # RFC 9396


async def validate(
    params: Mapping[str, Any],
    client: Client,
    services: Services,
    *,
    mode: str,
    hint_required: bool = True,
) -> Ask:
    """Check the parameters in the order a client can best act on; raise the CIBA error."""
    for name in STRING_PARAMS:
        if name in params:
            if not isinstance(params[name], str):
                raise InvalidRequest(f"{name} must be a string")
            refuse_nul(name, params[name])
    scope = _scope(params.get("scope"), client)
    notification_token = _notification_token(params.get("client_notification_token"), mode)
    acr_values = params.get("acr_values") or None
    if acr_values is not None and len(acr_values) > 500:
        raise InvalidRequest("acr_values is too long")
    binding_message = _binding_message(params.get("binding_message"))
    details = params.get("authorization_details")
    if details is not None:  # a request without them pays nothing for them
        types = registry(services.settings.authorization_details_types_file)
        details = rar.parse(details, client, types)
    expires_in = _expiry(params.get("requested_expiry"), services)
    user = None
    if hint_required or any(name in params for name in HINTS):
        user, enrolled = await find_user(params, client, services)
        # Nobody could ever answer: say so now rather than let the client wait out the expiry
        # (docs/errors.md explains the choice of access_denied).
        if not enrolled:
            raise AccessDenied("the user has no enrolled authenticator to approve the request")
    user_code_checked = False
    if client.meta.backchannel_user_code_parameter and user is not None:
        code = params.get("user_code")
        if not code:
            raise MissingUserCode("this client must send the user's user_code")
        name = client.meta.client_name or client.client_id
        if not await check_user_code(
            services.db, services.bus, user, code, client_id=client.client_id, client_name=name
        ):
            raise InvalidUserCode("the user_code is not right, or locked after repeated failures")
        user_code_checked = True
    return Ask(
        user=user,
        scope=scope,
        expires_in=expires_in,
        acr_values=acr_values,
        binding_message=binding_message,
        client_notification_token=notification_token,
        user_code_checked=user_code_checked,
        authorization_details=details,
    )


def _scope(value: str | None, client: Client) -> str:
    if not value or "openid" not in value.split():
        raise InvalidRequest("scope must include openid")
    return granted_scope(value, client)


def _notification_token(value: str | None, mode: str) -> str | None:
    if mode not in ("ping", "push"):
        return None  # poll and headless logins have nothing to receive it with; ignored
    if not value:
        raise InvalidRequest("client_notification_token is required in ping and push modes")
    if len(value) > NOTIFICATION_TOKEN_MAX or not B64TOKEN.match(value):
        raise InvalidRequest(
            f"client_notification_token must be a bearer token (RFC 6750 b64token) of at most "
            f"{NOTIFICATION_TOKEN_MAX} characters"
        )
    return value


def _binding_message(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise InvalidBindingMessage("binding_message must not be empty")
    if len(value) > BINDING_MESSAGE_MAX:
        raise InvalidBindingMessage(
            f"binding_message must be at most {BINDING_MESSAGE_MAX} characters"
        )
    if any(_unprintable(c) for c in value):
        raise InvalidBindingMessage("binding_message must be printable text on one line")
    return value


def _unprintable(char: str) -> bool:
    # Control characters and bidi overrides could make the phone show something other than
    # what the client sent; joiners stay allowed, emoji sequences need them.
    category = unicodedata.category(char)
    if category == "Cf":
        return char not in JOINERS
    return category in ("Cc", "Cs", "Co", "Cn")


def _expiry(value: Any, services: Services) -> int:
    settings = services.settings
    if value is None:
        return min(settings.ciba_default_expiry, settings.ciba_max_expiry)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequest("requested_expiry must be a positive integer")
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) <= 0:
        raise InvalidRequest("requested_expiry must be a positive integer")
    return min(int(text), settings.ciba_max_expiry)
