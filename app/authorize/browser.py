"""The cookies of the login pages, and CSRF tokens for their forms.

Two cookies, both HttpOnly, SameSite=Lax (sent on the top-level navigation from a client's site
that starts a login, never on a cross-site POST) and Secure with an https issuer, where they
also take the ``__Host-`` prefix (no Domain, Path=/):
- the *browser* cookie: a random value that binds a login page to the browser that opened it;
- the *session* cookie: a signed-in user (see ``sessions.py``).

A form's CSRF token is an HMAC of the page id under the browser cookie's value: a page from
another site cannot read the cookie, so it cannot make the token (OWASP's HMAC
synchronizer-token pattern, without server state).
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from app.hashing import new_secret
from app.keys.crypto import b64url
from app.settings import Settings


def _name(base: str, settings: Settings) -> str:
    return f"__Host-{base}" if settings.cookies_secure else base


def browser_id(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(_name("bc-browser", settings))


def ensure_browser(request: Request, response: Response, settings: Settings) -> str:
    """This browser's id, setting the cookie when it has none yet."""
    existing = browser_id(request, settings)
    if existing and 20 <= len(existing) <= 100:
        return existing
    value = new_secret(32)
    _set(response, "bc-browser", value, settings, max_age=None)
    return value


def session_token(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(_name("bc-session", settings))


def set_session(response: Response, token: str, settings: Settings) -> None:
    _set(response, "bc-session", token, settings, max_age=settings.session_lifetime)


def _set(
    response: Response, base: str, value: str, settings: Settings, *, max_age: int | None
) -> None:
    response.set_cookie(
        _name(base, settings),
        value,
        max_age=max_age,
        path="/",
        secure=settings.cookies_secure,
        httponly=True,
        samesite="lax",
    )


def csrf_token(browser: str, page_id: str) -> str:
    return b64url(hmac.new(browser.encode(), f"csrf:{page_id}".encode(), hashlib.sha256).digest())


def csrf_ok(browser: str, page_id: str, token: str | None) -> bool:
    expected = csrf_token(browser, page_id).encode()
    return token is not None and hmac.compare_digest(expected, token.encode())
