"""The hottest endpoints, served without FastAPI's routing and dependency machinery.

``POST /token`` and ``POST /bc-authorize`` take their form and headers and nothing else from the
framework, yet FastAPI's route matching, dependency solving and exception middleware cost about a
fifth of their time (docs/performance.md). ``App`` (app/main.py) hands them here; they still pass
the request guard (NUL and UTF-8 checks, metrics, access log) and their errors are answered by
the one error table of app/http/errors.py. Other methods on these paths (a GET, a HEAD) go
through FastAPI as before, which answers them 405.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.types import Receive, Scope, Send

from app.http.errors import HANDLERS
from app.services import Services

Endpoint = Callable[[Request, Services], Awaitable[Response]]


@dataclass(frozen=True)
class DirectRoute:
    """Stands in the scope where FastAPI puts its route: metrics label requests by ``path``."""

    path: str
    endpoint: Endpoint


class DirectRoutes:
    """An ASGI app for the direct routes (wrapped in the request guard by ``App``)."""

    def __init__(self, routes: dict[tuple[str, str], Endpoint]) -> None:
        self.routes = {key: DirectRoute(key[1], endpoint) for key, endpoint in routes.items()}

    def match(self, scope: Scope) -> bool:
        return scope["type"] == "http" and (scope["method"], scope["path"]) in self.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes[(scope["method"], scope["path"])]
        scope["route"] = route
        request = Request(scope, receive)
        try:
            response = await route.endpoint(request, scope["app"].state.services)
        except Exception as exc:
            handler = next((h for k, h in HANDLERS.items() if isinstance(exc, k)), None)
            if handler is None:
                raise  # the request guard answers it (app/http/errors.py ``unexpected``)
            response = await handler(request, exc)
        await response(scope, receive, send)
