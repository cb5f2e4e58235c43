"""The web authenticator: the phone API from a phone's browser, so the whole flow works with
no native app. Enrollment links (``/authenticator#enrollment_code=…``; the fragment never
reaches a server log) and QR codes (``/qr/…``, what a phone's camera opens) land on the same page,
which keeps its device key in the browser (a non-extractable WebCrypto key) and signs every call
and decision with it, exactly as an app would (docs/authenticator.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.http.deps import ServicesDep
from app.http.pages import render
from app.http.scope_words import SCOPE_WORDS
from app.services import Services

router = APIRouter(tags=["devices"])


@router.get("/authenticator")
async def authenticator(services: ServicesDep) -> Response:
    return _page(services)


@router.get("/qr/{payload}")
async def scanned(payload: str, services: ServicesDep) -> Response:
    """A QR code opened on the phone. The page always shows who asks and from where, and claims
    only when the user confirms: ``Sec-Fetch-Site: none`` cannot tell the camera from a link
    opened from a message, mail or chat app, where a relayed code arrives."""
    return _page(services)


def _page(services: Services) -> Response:
    issuer = services.settings.issuer
    websocket = "ws" + issuer.removeprefix("http")
    return render(
        "authenticator.html", issuer=issuer, connect_sources=[websocket], scope_words=SCOPE_WORDS
    )
