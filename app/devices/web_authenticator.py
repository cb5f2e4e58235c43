"""The web authenticator: the phone API from a phone's browser, so the whole flow works with
no native app. Enrollment links (``/authenticator#enrollment_code=…``; the fragment never
reaches a server log) and QR codes (``/qr/…``, what a phone's camera opens) land on the same page,
which keeps its device key in the browser (a non-extractable WebCrypto key) and signs every call
and decision with it, exactly as an app would (docs/authenticator.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.http.deps import ServicesDep
from app.http.pages import render
from app.services import Services

router = APIRouter(tags=["devices"])


@router.get("/authenticator")
async def authenticator(services: ServicesDep) -> Response:
    return _page(services, auto_claim=False)


@router.get("/qr/{payload}")
async def scanned(payload: str, request: Request, services: ServicesDep) -> Response:
    """A QR code opened on the phone: claimed at once only when the user opened it directly
    (the camera, the address bar: ``Sec-Fetch-Site: none``). Followed from a link, it may be an
    attacker's code relayed to the victim, so the page asks first."""
    direct = request.headers.get("sec-fetch-site") == "none"
    return _page(services, auto_claim=direct)


def _page(services: Services, *, auto_claim: bool) -> Response:
    issuer = services.settings.issuer
    websocket = "ws" + issuer.removeprefix("http")
    return render(
        "authenticator.html", issuer=issuer, auto_claim=auto_claim, connect_sources=[websocket]
    )
