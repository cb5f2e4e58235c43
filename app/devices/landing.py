"""Where a phone's plain camera lands: QR codes and enrollment links are https URLs on the
issuer (so a scan without the app opens a page, not an error). The web authenticator, which
will enroll and approve right here, is not built yet; until then these pages say what to do."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.http.pages import render

router = APIRouter(tags=["devices"])


@router.get("/qr/{payload}")
async def scanned_without_the_app(payload: str) -> Response:
    return render(
        "app_needed.html",
        message="This code signs you in to an application on another screen.",
    )


@router.get("/authenticator")
async def authenticator() -> Response:
    return render(
        "app_needed.html",
        message="Your administrator sent you this link to enroll a phone. "
        "Open it with the Backchannel authenticator app.",
    )
