"""The ASGI application: routers, error handlers, and the lifespan that owns the services."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__, features
from app.authorize.endpoints import router as authorize
from app.authorize.login import router as login
from app.ciba.endpoints import PATH as CIBA_PATH
from app.ciba.endpoints import backchannel_authentication
from app.ciba.endpoints import router as ciba
from app.clients.endpoints import router as admin_clients
from app.demo.pages import router as demo_pages
from app.demo.startup import start_demo, stop_demo
from app.devices import endpoints as device_endpoints
from app.devices.admin_endpoints import router as admin_devices
from app.devices.endpoints import STREAM_PATH as DEVICE_STREAM_PATH
from app.devices.endpoints import router as devices
from app.devices.endpoints import stream as device_stream
from app.devices.web_authenticator import router as web_authenticator
from app.discovery.endpoints import router as discovery
from app.evidence.endpoints import router as admin_requests
from app.headless.endpoint import PATH as HEADLESS_PATH
from app.headless.endpoint import headless as headless_socket
from app.health import router as health
from app.home.endpoints import router as home
from app.http import errors
from app.http.direct import DirectRoutes
from app.http.middleware import RequestGuard
from app.scheduler import build_scheduler, outbox_worker
from app.services import Services
from app.settings import Settings, get_settings
from app.storage.migrations import upgrade
from app.tokens.endpoints import router as token
from app.tokens.endpoints import token as token_endpoint
from app.tokens.introspect import router as introspect
from app.tokens.revoke import router as revoke
from app.users.endpoints import router as admin_users
from app.users.userinfo import router as userinfo


def _release_startup_memory() -> None:
    """Give back to the system what start-up (migrations, key generation) freed: glibc keeps
    freed heap otherwise, and a server holding thousands of sockets counts every MiB."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


SocketHandler = Callable[[WebSocket, Services], Awaitable[None]]


class App(FastAPI):
    """FastAPI, with its long-lived WebSocket paths served ahead of the middleware and routing
    stack: a socket keeps every frame of the stack it came through for as long as it is open,
    and the headless flow is built to hold many (docs/performance.md). These handlers check
    their own input and catch their own errors."""

    sockets: dict[str, SocketHandler]
    direct: DirectRoutes  # the hottest endpoints without the routing stack (app/http/direct.py)
    guarded_direct: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.direct.match(scope):
            scope["app"] = self
            await self.guarded_direct(scope, receive, send)
            return
        handler = self.sockets.get(scope["path"]) if scope["type"] == "websocket" else None
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await handler(WebSocket(scope, receive, send), self.state.services)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await asyncio.to_thread(upgrade, settings.database_url)
        services = await Services.start(settings)
        features.install(services)
        app.state.services = services
        if settings.demo:
            await start_demo(app, settings)
        scheduler = build_scheduler(services) if settings.scheduler_enabled else None
        worker = asyncio.create_task(outbox_worker(services)) if scheduler else None
        if scheduler:
            scheduler.start()
        _release_startup_memory()
        try:
            yield
        finally:
            if scheduler:
                scheduler.shutdown(wait=False)
            if worker:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await stop_demo(app)
            await services.close()

    app = App(
        title="Backchannel",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.sockets = {HEADLESS_PATH: headless_socket, DEVICE_STREAM_PATH: device_stream}
    app.direct = DirectRoutes(
        {
            ("POST", "/token"): token_endpoint,
            ("POST", CIBA_PATH): backchannel_authentication,
            ("GET", device_endpoints.router.prefix + device_endpoints.PENDING_PATH): (
                device_endpoints.pending_requests
            ),
            ("POST", device_endpoints.router.prefix + device_endpoints.DECISION_PATH): (
                device_endpoints.decision
            ),
        }
    )
    app.guarded_direct = RequestGuard(app.direct, access_log=settings.access_log)
    errors.install(app)
    app.add_middleware(RequestGuard, access_log=settings.access_log)
    if settings.demo:  # before ``home``: the demo's landing page answers ``/``
        app.include_router(demo_pages)
    for router in (
        home,
        discovery,
        authorize,
        login,
        ciba,
        token,
        revoke,
        introspect,
        userinfo,
        devices,
        web_authenticator,
        admin_clients,
        admin_users,
        admin_devices,
        admin_requests,
        health,
    ):
        app.include_router(router)
    return app
