"""The demo's pages and its notification endpoint, served only in demo mode.

The pages are ordinary clients of the public API: the agent console calls ``/bc-authorize`` and
``/token``, the till speaks the headless WebSocket, the shop runs the code flow with PKCE, and
each checks the ID token it gets against ``/jwks`` in the browser. So that they can, this run's
demo client secrets are written into the pages — acceptable for a demo on one's own machine, and
the reason these routes exist only in demo mode.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import segno
from fastapi import APIRouter, Request, Response

from app.demo import seed
from app.demo.notifications import Mailbox
from app.demo.seed import Demo
from app.errors import InvalidRequest, InvalidToken
from app.http.deps import JsonBody, ServicesDep
from app.http.pages import render

router = APIRouter(tags=["demo"], include_in_schema=False)

COLLECT_SECONDS = 20.0  # one long poll of the console for a notification
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # nothing an agent could misread aloud


def _demo(request: Request) -> Demo:
    demo: Demo = request.app.state.demo
    return demo


def _mailbox(request: Request) -> Mailbox:
    mailbox: Mailbox = request.app.state.demo_mailbox
    return mailbox


def _websocket(issuer: str) -> str:
    return "ws" + issuer.removeprefix("http")


@router.get("/")
async def landing(request: Request, services: ServicesDep) -> Response:
    issuer = services.settings.issuer
    enrollment = await seed.enrollment(request.app.state.demo_api, _demo(request).user_id)
    link = enrollment["enrollment_uri"]
    return render(
        "demo_home.html",
        issuer=issuer,
        enrollment_uri=link,
        enrollment_qr=segno.make(link, error="m").svg_data_uri(scale=4, border=2),
        user=seed.USER,
    )


@router.get("/demo/agent")
async def agent(request: Request, services: ServicesDep) -> Response:
    demo = _demo(request)
    modes = {
        mode: {"client_id": f"demo-{mode}", "client_secret": demo.secrets[f"demo-{mode}"]}
        for mode in ("poll", "ping", "push")
        if f"demo-{mode}" in demo.secrets
    }
    return render(
        "demo_agent.html",
        issuer=services.settings.issuer,
        modes=modes,
        skipped=demo.skipped,
        user=seed.USER,
        code="".join(secrets.choice(CODE_ALPHABET) for _ in range(4)),
        scope=seed.SCOPE,
    )


@router.get("/demo/terminal")
async def terminal(request: Request, services: ServicesDep) -> Response:
    issuer = services.settings.issuer
    client = {"client_id": "demo-till", "client_secret": _demo(request).secrets["demo-till"]}
    return render(
        "demo_terminal.html",
        issuer=issuer,
        client=client,
        user=seed.USER,
        shop=seed.SHOP,
        connect_sources=[_websocket(issuer)],
    )


@router.get("/demo/shop")
async def shop(services: ServicesDep) -> Response:
    return render("demo_shop.html", issuer=services.settings.issuer, scope=seed.SCOPE)


@router.get("/demo/qr")
async def qr(uri: str, services: ServicesDep) -> Response:
    """The till's rotating code as an image; only the server's own ``/qr/`` links."""
    if not uri.startswith(services.settings.issuer + "/qr/") or len(uri) > 500:
        raise InvalidRequest("uri must be one of this server's QR links")
    svg = io.BytesIO()  # a standalone document (with xmlns): an <img> shows nothing less
    segno.make(uri, error="m").save(svg, kind="svg", scale=8, border=2)
    headers = {"Cache-Control": "no-store"}
    return Response(svg.getvalue(), media_type="image/svg+xml", headers=headers)


@router.post("/demo/notify", status_code=204)
async def notify(request: Request, body: JsonBody) -> Response:
    """The demo clients' ``backchannel_client_notification_endpoint`` (CIBA Core §10.2, §10.3)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or not isinstance(body, dict):
        raise InvalidToken("a notification carries the client_notification_token as Bearer")
    _mailbox(request).deliver(token.strip(), body)
    return Response(status_code=204)


@router.get("/demo/notifications/{token}")
async def notifications(token: str, request: Request) -> Any:
    """What arrived for a console's ``client_notification_token`` (long poll); 204: nothing yet."""
    arrived = await _mailbox(request).collect(token, COLLECT_SECONDS)
    return arrived if arrived is not None else Response(status_code=204)
