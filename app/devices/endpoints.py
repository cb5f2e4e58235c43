"""The authenticator (phone) API: enroll, list pending requests, decide, scan, stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, WebSocket
from starlette.websockets import WebSocketDisconnect

from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.devices.decisions import Deciding, decide
from app.devices.models import Device
from app.devices.service import spending
from app.devices.views import handed_over
from app.errors import InvalidRequest, InvalidToken, NotFound, OAuthError
from app.events import user_topic
from app.http.deps import JsonBody, ServicesDep, read_json
from app.http.json import JSONResponse
from app.http.untrusted_json import parse_json
from app.services import Services
from app.storage.types import utcnow

router = APIRouter(prefix="/devices", tags=["devices"])
PENDING_PATH = "/me/requests"
DECISION_PATH = "/me/requests/{request_id}/decision"

FIRST_FRAME_TIMEOUT = 10.0
# Events are hints: a quiet stream compares its list with the database this often, so an event
# lost on the way (a replica's bus reconnecting) delays a request, never hides it.
RECHECK_SECONDS = 15.0


def _bearer(value: str | None) -> str | None:
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_device(request: Request, services: ServicesDep) -> Device:
    device = await services.devices.authenticate(_bearer(request.headers.get("authorization")))
    await services.devices.touch(device)
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


async def unspent_device(request: Request, services: ServicesDep) -> Deciding:
    """The device, its assertion's jti left to be spent in the call's own write (a decision's
    move, a list's shown marks): one write, not two."""
    assertion = _bearer(request.headers.get("authorization"))
    device, once = await services.devices.authenticate_unspent(assertion)
    await services.devices.touch(device)
    return Deciding(device, once)


@router.post("", status_code=201)
async def enroll(body: JsonBody, services: ServicesDep) -> dict[str, Any]:
    return (await services.devices.enroll(body)).view()


# The phone's two calls of every approval are served directly (app/http/direct.py, app/main.py)
# and stay declared here for the other methods' 405: hence (request, services) signatures.
@router.get(PENDING_PATH)
async def pending_requests(request: Request, services: ServicesDep) -> JSONResponse:
    caller = await unspent_device(request, services)
    pending = await services.requests.pending_for_user(caller.device.user_id)
    views = await handed_over(services, pending, guard=spending(caller.assertion))
    # A JSONResponse of our own: FastAPI would validate and re-encode every view first.
    return JSONResponse(views)


@router.post(DECISION_PATH)
async def decision(request: Request, services: ServicesDep) -> JSONResponse:
    body = await read_json(request)
    deciding = await unspent_device(request, services)
    s, request_id = services, request.path_params["request_id"]
    decided = await decide(s.db, s.settings, s.requests, s.users, deciding, request_id, body)
    return JSONResponse({"id": decided.id, "status": decided.status})


@router.post("/me/scan/preview")
async def scan_preview(body: JsonBody, device: DeviceDep, services: ServicesDep) -> dict[str, Any]:
    """What a scanned code asks — the client, the scope, where the sign-in comes from — without
    claiming it: the phone shows this and claims only when the user confirms (a code relayed
    in a message must not be taken by one tap)."""
    return (await handed_over(services, [await _scanned(services, body)]))[0]


@router.post("/me/scan")
async def scan(body: JsonBody, device: DeviceDep, services: ServicesDep) -> dict[str, Any]:
    """A device scanned an open request's QR code: the request becomes its user's."""
    request = await _scanned(services, body)
    claimed = await services.requests.claim(request.id, device.user_id)
    if claimed is None:
        raise InvalidRequest("this request is no longer open")
    return (await handed_over(services, [claimed]))[0]


async def _scanned(services: Services, body: Any) -> AuthRequest:
    """The open request a fresh QR code names."""
    uri = body.get("qr_uri") if isinstance(body, dict) else None
    if not isinstance(uri, str):
        raise InvalidRequest('the body must be {"qr_uri": "…"}')
    request_id = services.qr.request_id(uri)
    request = await services.requests.get(request_id) if request_id else None
    if request is None or request.qr_secret is None:
        raise NotFound("this code does not name a request")
    if not services.qr.is_fresh(request, uri):
        raise InvalidRequest("this code is stale; scan the code on the screen again")
    return request


@router.get("/me")
async def this_device(device: DeviceDep, services: ServicesDep) -> dict[str, Any]:
    """The device, and whose it is: the authenticator shows which account it approves for."""
    user = await services.users.get(device.user_id)
    account = {"username": user.username, "name": user.claims.get("name")} if user else None
    return {**device.view(), "user": account}


@router.patch("/me")
async def update_device(body: JsonBody, device: DeviceDep, services: ServicesDep) -> dict[str, Any]:
    return (await services.devices.update(device.id, body)).view()


@router.delete("/me", status_code=204)
async def delete_device(device: DeviceDep, services: ServicesDep) -> Response:
    await services.devices.delete(device.id)
    return Response(status_code=204)


STREAM_PATH = "/devices/me/stream"


async def stream(websocket: WebSocket, services: Services) -> None:
    """New requests for the device's user in real time, and requests closed elsewhere.

    Frames sent: ``{"type": "requests", "requests": [...]}`` once, then ``{"type": "request",
    "request": {...}}`` for each new one, ``{"type": "closed", "id", "status"}``, and
    ``{"type": "notice", "notice", …}`` for what the user should know (``user_code_locked``:
    wrong user codes for them used up a client's budget).
    """
    await websocket.accept()
    try:
        device = await _stream_device(websocket, services)
    except (OAuthError, ValueError, KeyError, TypeError, TimeoutError, WebSocketDisconnect) as exc:
        body = exc.body() if isinstance(exc, OAuthError) else {"error": "invalid_token"}
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", **body})
            await websocket.close(code=1008)
        return
    services.device_streams += 1
    try:
        await _follow(websocket, services, device)
    finally:
        services.device_streams -= 1


async def _follow(websocket: WebSocket, services: Services, device: Device) -> None:
    """The stream of an authenticated device, until either side closes it."""
    async with services.bus.subscribe([user_topic(device.user_id)]) as events:
        pending = await services.requests.pending_for_user(device.user_id)
        await websocket.send_json(
            {"type": "requests", "requests": await handed_over(services, pending)}
        )
        shown = {r.id for r in pending}
        closed = asyncio.ensure_future(_until_closed(websocket))
        try:
            while not closed.done():
                next_event = asyncio.ensure_future(events.get(RECHECK_SECONDS))
                await asyncio.wait({next_event, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not next_event.done():
                    next_event.cancel()
                    break
                event = next_event.result()
                if event is not None and "notice" in event:  # e.g. user_code_locked
                    notice = {k: v for k, v in event.items() if k != "topic"}
                    await websocket.send_json({"type": "notice", **notice})
                elif event is not None:
                    await _forward(websocket, services, device, event["request_id"], shown)
                else:  # quiet for a while: catch up on anything a lost event did not tell
                    current = {
                        r.id for r in await services.requests.pending_for_user(device.user_id)
                    }
                    for request_id in (current - shown) | (shown - current):
                        await _forward(websocket, services, device, request_id, shown)
        except WebSocketDisconnect:
            pass
        finally:
            closed.cancel()


async def _stream_device(websocket: WebSocket, services: Services) -> Device:
    assertion = websocket.query_params.get("assertion")
    if not assertion:
        text = await asyncio.wait_for(websocket.receive_text(), FIRST_FRAME_TIMEOUT)
        try:
            first = parse_json(text, "the first frame")
        except InvalidRequest as exc:  # no assertion in it: the stream's answer for that
            raise InvalidToken(exc.description) from None
        assertion = first.get("assertion") if isinstance(first, dict) else None
    return await services.devices.authenticate(assertion)


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the device sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _forward(
    websocket: WebSocket, services: Services, device: Device, request_id: str, shown: set[str]
) -> None:
    request = await services.requests.get(request_id)
    if request is None or request.user_id != device.user_id:
        shown.discard(request_id)
        return
    if request.status == Status.PENDING:
        if request.expires_at <= utcnow():
            return  # overdue; its expiry (and the closed frame) follows
        shown.add(request.id)
        [view] = await handed_over(services, [request])
        await websocket.send_json({"type": "request", "request": view})
    else:
        shown.discard(request.id)
        await websocket.send_json({"type": "closed", "id": request.id, "status": request.status})
