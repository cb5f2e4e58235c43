"""HTML pages (Jinja2, autoescaped): the login page and its kin, with headers that keep them from
being framed, cached or leaking their URL: a login page's address names the page, and a
response page carries a code."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

_env = Environment(
    loader=PackageLoader("app.http", "templates"),
    autoescape=select_autoescape(default=True),
)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)  # the only scripts that run are ours, named by nonce
    html = _env.get_template(template).render(nonce=nonce, **context)
    csp = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self' " + " ".join(context.get("connect_sources", [])) + "; "
        "form-action 'self' " + " ".join(context.get("form_targets", [])) + "; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    if context.get("installable"):  # an installable page: its manifest and service worker
        csp += "; manifest-src 'self'; worker-src 'self'"
    headers = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, status_code=status, headers=headers)


class ErrorPage(Exception):
    """Raised where the answer is a page for the person at the browser, not JSON for a client;
    the error handler renders it with ``error_page``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """For what cannot be sent back to the client (RFC 6749 §4.1.2.1): the user reads it."""
    return render("error.html", status, message=message)
