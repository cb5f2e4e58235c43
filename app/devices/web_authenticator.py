"""The web authenticator: the phone API from a phone's browser, so the whole flow works with
no native app. Enrollment links (``/authenticator#enrollment_code=…``; the fragment never
reaches a server log) and QR codes (``/qr/…``, what a phone's camera opens) land on the same page,
which keeps its device key in the browser (a non-extractable WebCrypto key) and signs every call
and decision with it, exactly as an app would (docs/authenticator.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.http.deps import ServicesDep
from app.http.pages import render

router = APIRouter(tags=["devices"])


@router.get("/authenticator")
async def authenticator(services: ServicesDep) -> Response:
    issuer = services.settings.issuer
    websocket = "ws" + issuer.removeprefix("http")
    return render("authenticator.html", issuer=issuer, connect_sources=[websocket])


@router.get("/qr/{payload}")
async def scanned(payload: str, services: ServicesDep) -> Response:
    """A QR code opened by the phone's camera: the page claims it for the enrolled device."""
    return await authenticator(services)
