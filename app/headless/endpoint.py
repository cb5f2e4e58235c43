"""WebSocket /headless: start a login, watch it live, get the tokens (API.md "Headless flow").

Frames in: ``start`` (first, once), ``cancel``. Frames out: ``pending`` (with ``qr_uri`` when no
hint named the user), ``qr`` (the rotating code), ``scanned``, then ``tokens``, ``cancelled`` or
``error``, and a close with 1000. A protocol error gets an ``error`` frame with an OAuth code
and a close with 1008 (1003 for a binary frame, 1009 for one over the size limit, 1013 when the
client holds too many sockets or the database is unreachable, 1011 on a server fault). A
headless request is a CIBA request whose result leaves through the socket: a socket that drops
leaves it redeemable at /token with the CIBA grant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import contextmanager
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from app.ciba import params
from app.ciba.flow import start as start_request
from app.ciba.tokens import redeem
from app.clients import fapi
from app.clients.metadata import CIBA
from app.clients.models import Client
from app.decoupled.models import AuthRequest
from app.decoupled.states import Status
from app.dpop.binding import token_request_jkt
from app.errors import (
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    TokenAccessDenied,
    TooManyRequests,
    UnauthorizedClient,
    describe,
)
from app.events import Subscription, request_topic
from app.headless.messages import CLIENT_FRAME, Cancel, Start
from app.http.untrusted_json import parse_json
from app.services import Services
from app.storage import outage
from app.storage.types import utcnow

log = logging.getLogger("backchannel.headless")

PATH = "/headless"
NORMAL, UNSUPPORTED, POLICY, TOO_BIG, SERVER_ERROR, TRY_LATER = 1000, 1003, 1008, 1009, 1011, 1013
# Events are hints: should one be lost (a replica's bus reconnecting), a waiting socket still
# re-reads its request this often.
RECHECK_SECONDS = 15.0


class Refused(Exception):
    """End the socket with an error frame and a close code."""

    def __init__(self, error: OAuthError, code: int = POLICY) -> None:
        self.error, self.code = error, code


async def headless(websocket: WebSocket, services: Services) -> None:
    """Served ahead of the routing stack (app/main.py ``App``)."""
    await websocket.accept()
    try:
        await Session(websocket, services).run()
    except Refused as refused:
        with contextlib.suppress(Exception):  # the peer may be gone already
            await websocket.send_json({"type": "error", **refused.error.body()})
            await websocket.close(refused.code)
    except WebSocketDisconnect:
        pass  # the request, if any, stays redeemable at /token
    except Exception as exc:
        # Say why before closing (an outage: try again later; anything else: our fault).
        if outage.is_unavailable(exc):
            outage.report(exc)
            error, code = TemporarilyUnavailable("the database is unavailable"), TRY_LATER
        else:
            log.error("headless socket failed", exc_info=exc)
            error, code = ServerError("the server met an unexpected condition"), SERVER_ERROR
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", **error.body()})
            await websocket.close(code)


class Session:
    def __init__(self, websocket: WebSocket, services: Services) -> None:
        self.ws = websocket
        self.services = services
        self.settings = services.settings
        self.qr_sent: str | None = None

    async def run(self) -> None:
        try:
            # A timeout scope, not wait_for: no task of its own for each socket that waits.
            async with asyncio.timeout(self.settings.headless_start_timeout):
                first = await self._frame()
        except TimeoutError:
            raise Refused(InvalidRequest("no start frame in time")) from None
        if not isinstance(first, Start):
            raise Refused(InvalidRequest("the first frame must be start"))
        client = await self._client(first)
        with self._slot(client):
            try:
                fapi.check_ciba_request(client.meta, first.parameters())  # no request objects here
                ask = await params.validate(
                    first.parameters(), client, self.services, mode="headless", hint_required=False
                )
                # RFC 9449: a proof as for POST /token binds the tokens this socket delivers.
                headers = {"dpop": first.dpop} if first.dpop is not None else {}
                jkt = await token_request_jkt(
                    self.services, client, headers, self.settings.endpoint("/token")
                )
                request, auth_req_id = await start_request(
                    self.services, client, ask, "headless", dpop_jkt=jkt
                )
            except TooManyRequests as exc:
                raise Refused(exc, TRY_LATER) from None
            except OAuthError as exc:
                raise Refused(exc) from None
            pending: dict[str, Any] = {
                "type": "pending",
                "auth_req_id": auth_req_id,
                "expires_in": ask.expires_in,
                "interval": request.interval,
            }
            if request.user_id is None:
                pending["qr_uri"] = self.qr_sent = self.services.qr.uri(request)
            await self.ws.send_json(pending)
            await self._follow(request, client, auth_req_id)

    async def _client(self, start: Start) -> Client:
        try:
            client = await self.services.authenticator.authenticate(
                start.credentials(), None, self.settings.endpoint(PATH), any_secret_method=True
            )
        except OAuthError as exc:
            raise Refused(exc) from None
        if CIBA not in client.meta.grant_types:
            raise Refused(UnauthorizedClient("the client is not registered for CIBA"))
        return client

    @contextmanager
    def _slot(self, client: Client) -> Any:
        """At most ``headless_max_sockets_per_client`` open logins per client and process."""
        open_sockets = self.services.headless_sockets
        if open_sockets[client.client_id] >= self.settings.headless_max_sockets_per_client:
            raise Refused(TemporarilyUnavailable("too many open headless sockets"), TRY_LATER)
        open_sockets[client.client_id] += 1
        try:
            yield
        finally:
            open_sockets[client.client_id] -= 1
            if not open_sockets[client.client_id]:
                del open_sockets[client.client_id]

    async def _frame(self) -> Start | Cancel:
        """The next client frame, strictly checked."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise Refused(InvalidRequest("frames must be JSON text, not binary"), UNSUPPORTED)
        if len(text.encode()) > self.settings.headless_max_frame_bytes:
            limit = self.settings.headless_max_frame_bytes
            raise Refused(InvalidRequest(f"frames are limited to {limit} bytes"), TOO_BIG)
        if "\\u0000" in text:  # NUL never belongs in what we look up or store (as in forms)
            raise Refused(InvalidRequest("frames must not contain NUL characters"))
        try:
            return CLIENT_FRAME.validate_python(parse_json(text, "the frame"))
        except InvalidRequest as exc:
            raise Refused(exc) from None
        except ValidationError as exc:
            raise Refused(InvalidRequest(describe(exc))) from None

    async def _follow(self, request: AuthRequest, client: Client, auth_req_id: str) -> None:
        """Relay progress until the request ends: each wake-up (an event, a frame, the QR tick,
        the expiry) re-reads the request."""
        async with self.services.bus.subscribe([request_topic(request.id)]) as events:
            reader = asyncio.ensure_future(self._frame())
            scanned = False
            try:
                while True:
                    current = await self.services.requests.get(request.id) or request
                    if current.claimed_at is not None and not scanned:
                        scanned = True
                        await self.ws.send_json({"type": "scanned"})
                    if reader.done() and reader.exception() is not None:
                        reader.result()  # gone or misbehaving: leave the result to /token
                    if await self._finish(current, client, auth_req_id):
                        return
                    if await self._wait(current, events, reader):
                        frame = reader.result()
                        reader = asyncio.ensure_future(self._frame())
                        if isinstance(frame, Start):
                            raise Refused(InvalidRequest("start was already sent"))
                        await self.services.requests.transition(current.id, Status.CANCELLED)
            finally:
                reader.cancel()
                with contextlib.suppress(BaseException):  # collect it: no "never retrieved"
                    await reader

    async def _wait(
        self, request: AuthRequest, events: Subscription, reader: asyncio.Future[Any]
    ) -> bool:
        """Sleep until something may have changed; True when the client sent a frame. Sends
        the next QR code when its time comes."""
        period = self.settings.qr_rotation_seconds
        open_qr = request.user_id is None and request.qr_secret is not None
        until_expiry = (request.expires_at - utcnow()).total_seconds() + 0.5
        # Wake just after the step boundary (timers may fire a hair early).
        next_step = period - time.time() % period + 0.01
        timeout = max(0.0, min(until_expiry, next_step if open_qr else RECHECK_SECONDS))
        event = asyncio.ensure_future(events.get(timeout))
        try:
            await asyncio.wait({event, reader}, return_when=asyncio.FIRST_COMPLETED)
            timed_out = event.done() and event.result() is None
        finally:
            event.cancel()
        if reader.done():
            reader.result()  # a protocol error or a disconnect rises here
            return True
        if open_qr and timed_out:
            uri = self.services.qr.uri(request)
            if uri != self.qr_sent:
                self.qr_sent = uri
                await self.ws.send_json({"type": "qr", "qr_uri": uri})
        return False

    async def _finish(self, request: AuthRequest, client: Client, auth_req_id: str) -> bool:
        """Send the result and close if the request has one."""
        status = Status(request.status)
        if status == Status.PENDING and request.expires_at > utcnow():
            return False
        frame: dict[str, Any]
        if status == Status.APPROVED:
            try:
                body = await redeem(self.services, request, client, auth_req_id)
                if body is not None:
                    frame = {"type": "tokens", **body}
                elif (now := await self.services.requests.get(request.id)) and (
                    now.status == Status.CONSUMED
                ):
                    frame = _error(InvalidGrant("the auth_req_id was redeemed elsewhere"))
                else:  # it expired between the read and the redemption
                    frame = _error(ExpiredToken("the request expired before it was redeemed"))
            except TokenAccessDenied as exc:
                frame = _error(exc)
        elif status == Status.CANCELLED:
            frame = {"type": "cancelled"}
        elif status == Status.DENIED:
            frame = _error(TokenAccessDenied("the user denied the request"))
        elif status == Status.CONSUMED:
            frame = _error(InvalidGrant("the auth_req_id was redeemed at /token"))
        else:
            frame = _error(ExpiredToken("the request expired before the user answered"))
        await self.ws.send_json(frame)
        await self.ws.close(NORMAL)
        return True


def _error(exc: OAuthError) -> dict[str, Any]:
    return {"type": "error", **exc.body()}
