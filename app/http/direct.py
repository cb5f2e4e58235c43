"""The hottest endpoints, served without FastAPI's routing and dependency machinery.

``POST /token``, ``POST /bc-authorize`` and the phone's two calls of every approval (its list of
pending requests, its decision) take their body, headers and path and nothing else from the
framework, yet FastAPI's route matching, dependency solving and exception middleware cost about
a fifth of their time (docs/performance.md). ``App`` (app/main.py) hands them here; they still
pass the request guard (NUL and UTF-8 checks, metrics, access log) and their errors are answered
by the one error table of app/http/errors.py. Each stays declared on its FastAPI router too, so
other methods on these paths (a GET, a HEAD) go through FastAPI as before, which answers 405.
"""

from __future__ import annotations

import re
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
    """An ASGI app for the direct routes (wrapped in the request guard by ``App``). A path may
    name parameters as FastAPI does (``/x/{id}/y``: one path segment each), which the endpoint
    reads from ``request.path_params``."""

    def __init__(self, routes: dict[tuple[str, str], Endpoint]) -> None:
        self.exact: dict[tuple[str, str], DirectRoute] = {}
        self.patterns: list[tuple[str, re.Pattern[str], DirectRoute]] = []
        for (method, path), endpoint in routes.items():
            route = DirectRoute(path, endpoint)
            if "{" not in path:
                self.exact[(method, path)] = route
                continue
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path))
            self.patterns.append((method, re.compile(pattern), route))

    def _find(self, scope: Scope) -> tuple[DirectRoute, dict[str, str]] | None:
        method, path = scope["method"], scope["path"]
        route = self.exact.get((method, path))
        if route is not None:
            return route, {}
        for wanted, pattern, route in self.patterns:
            if wanted == method and (found := pattern.fullmatch(path)) is not None:
                return route, found.groupdict()
        return None

    def match(self, scope: Scope) -> bool:
        return scope["type"] == "http" and self._find(scope) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._find(scope)
        assert found is not None, "App hands only matched requests here"
        route, scope["path_params"] = found
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
