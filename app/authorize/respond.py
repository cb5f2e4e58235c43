"""Sending the authorization response (or error) back to the client's redirect URI.

Every response names the issuer (``iss``, RFC 9207), so a client talking to several providers
can tell which one answered (mix-up attacks). ``query`` redirects with 303 (a POST to /authorize
must not be replayed as a POST); ``form_post`` (OAuth 2.0 Form Post Response Mode) hands the
browser a self-submitting form, keeping the code out of URLs and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from fastapi import Response
from fastapi.responses import RedirectResponse

from app.errors import OAuthError
from app.http.pages import render
from app.settings import Settings


@dataclass(frozen=True)
class ReturnTo:
    """Where and how the client wants its answer."""

    redirect_uri: str
    response_mode: str = "query"
    state: str | None = None

    def success(self, code: str, settings: Settings) -> Response:
        return self._send({"code": code}, settings)

    def error(self, exc: OAuthError, settings: Settings) -> Response:
        return self._send(exc.body(), settings)

    def _send(self, values: dict[str, str], settings: Settings) -> Response:
        fields = dict(values)
        if self.state is not None:
            fields["state"] = self.state
        fields["iss"] = settings.issuer
        if self.response_mode == "form_post":
            return render(
                "form_post.html",
                action=self.redirect_uri,
                fields=fields,
                form_targets=[csp_source(self.redirect_uri)],
            )
        # RFC 6749 §3.1.2: keep the registered URI's own query component.
        joiner = "&" if urlsplit(self.redirect_uri).query else "?"
        location = self.redirect_uri + joiner + urlencode(fields)
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def csp_source(uri: str) -> str:
    """The CSP source expression for a redirect URI: its origin (or scheme, for an app's
    private-use scheme), so a form may submit, or be redirected, there."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
