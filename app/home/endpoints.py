"""``GET /``: a small page naming the server, its issuer and where its documentation is (in demo
mode the demo's landing page answers instead, registered before this one)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app import __version__
from app.http.deps import ServicesDep
from app.http.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(services: ServicesDep) -> Response:
    return render("home.html", issuer=services.settings.issuer, version=__version__)
