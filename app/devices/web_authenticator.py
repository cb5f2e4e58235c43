"""The web authenticator: the phone API from a phone's browser, so the whole flow works with
no native app. Enrollment links (``/authenticator#enrollment_code=…``; the fragment never
reaches a server log) and QR codes (``/qr/…``, what a phone's camera opens) land on the same page,
which keeps its device key in the browser (a non-extractable WebCrypto key) and signs every call
and decision with it, exactly as an app would (docs/authenticator.md).

The page is installable (a web app manifest and a service worker), and the service worker shows
the Web Push notifications app/push/web.py sends when a request arrives."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Response

from app.http.deps import ServicesDep
from app.http.pages import render
from app.http.scope_words import SCOPE_WORDS
from app.services import Services

router = APIRouter(tags=["devices"])

WORKER = (Path(__file__).parent / "authenticator_worker.js").read_bytes()
ICON = (Path(__file__).parent / "authenticator_icon.svg").read_bytes()
MANIFEST = {
    "name": "Backchannel authenticator",
    "short_name": "Authenticator",
    "description": "Approve sign-ins with this phone.",
    "start_url": "/authenticator",
    "scope": "/authenticator",
    "display": "standalone",
    "background_color": "#f4f5f7",
    "theme_color": "#2456d8",
    "icons": [
        {"src": "/authenticator-icon.svg", "sizes": "any", "type": "image/svg+xml"},
        {
            "src": "/authenticator-icon.svg",
            "sizes": "any",
            "type": "image/svg+xml",
            "purpose": "maskable",
        },
    ],
}


@router.get("/authenticator")
async def authenticator(services: ServicesDep) -> Response:
    return _page(services)


@router.get("/qr/{payload}")
async def scanned(payload: str, services: ServicesDep) -> Response:
    """A QR code opened on the phone. The page always shows who asks and from where, and claims
    only when the user confirms: ``Sec-Fetch-Site: none`` cannot tell the camera from a link
    opened from a message, mail or chat app, where a relayed code arrives."""
    return _page(services)


@router.get("/authenticator.webmanifest")
async def manifest() -> Response:
    return Response(json.dumps(MANIFEST), media_type="application/manifest+json")


@router.get("/authenticator-worker.js")
async def worker() -> Response:
    # no-cache: a browser checks for a newer worker on every visit, so a fix reaches phones.
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(WORKER, media_type="text/javascript", headers=headers)


@router.get("/authenticator-icon.svg")
async def icon() -> Response:
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def _page(services: Services) -> Response:
    issuer = services.settings.issuer
    websocket = "ws" + issuer.removeprefix("http")
    return render(
        "authenticator.html",
        issuer=issuer,
        connect_sources=[websocket],
        scope_words=SCOPE_WORDS,
        vapid_public_key=services.vapid.public_key,
        installable=True,
    )
