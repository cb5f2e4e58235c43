"""The one place protocol errors become HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from app import metrics
from app.errors import (
    BASIC_CHALLENGE,
    Conflict,
    InvalidRequest,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    TooManyRequests,
    error_text,
)
from app.http.json import JSONResponse
from app.http.pages import ErrorPage, error_page
from app.storage import outage
from app.storage.sql import IntegrityViolation

log = logging.getLogger("backchannel.errors")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def render(exc: OAuthError) -> JSONResponse:
    headers = {**NO_STORE, **exc.headers}
    if exc.status_code == 401:
        # RFC 9110 §11.6.1: a 401 without a challenge is not a 401; no error class may forget it.
        headers.setdefault("WWW-Authenticate", BASIC_CHALLENGE)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


# The answer a polling client gets many times per login: the normal course, not a refusal.
_ROUTINE = frozenset({"authorization_pending"})


async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    if isinstance(exc, TooManyRequests):
        metrics.RATE_LIMITED.labels(getattr(request.scope.get("route"), "path", "unmatched")).inc()
    level = logging.DEBUG if exc.error in _ROUTINE else logging.INFO
    if log.isEnabledFor(level):  # a poll's routine answer should not pay for a record
        extra = {"path": request.scope["path"], "error": exc.error, "detail": exc.detail}
        log.log(level, "request refused", extra=extra)
    return render(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's own validation (path and query parameters): a 400 in OAuth shape, not a 422.
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return render(InvalidRequest("; ".join(parts)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "invalid_request"}
    body = {
        "error": codes.get(exc.status_code, "invalid_request"),
        "error_description": error_text(str(exc.detail)),
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A row this request refers to was deleted (or one it adds was added) by another request
    # between its checks and its write — say a client removed mid-login. The write was rolled
    # back; the caller may try again.
    log.warning("write refused by a constraint", extra={"path": request.url.path}, exc_info=exc)
    return render(Conflict("the data changed while this request ran; try again"))


def unexpected(exc: Exception, path: str) -> JSONResponse:
    """The answer to an exception no handler took (rendered by app/http/middleware.py, which
    keeps the connection open: Starlette's own last-resort handler re-raises, and uvicorn then
    drops the kept-alive connection and logs a second traceback). A database outage is a 503
    with ``Retry-After``, said once per outage in the log; anything else is a 500, logged once."""
    if outage.is_unavailable(exc):
        outage.report(exc)
        retry = {"Retry-After": str(outage.RETRY_AFTER_SECONDS)}
        return render(TemporarilyUnavailable("the database is unavailable", headers=retry))
    log.error("unhandled error", extra={"path": path}, exc_info=exc)
    return render(ServerError("the server met an unexpected condition"))


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ErrorPage)
    return error_page(exc.message, exc.status)


# Each exception class we answer, and how; FastAPI's handlers and the direct routes
# (app/http/direct.py) both use this table.
HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    OAuthError: _oauth_error,
    ErrorPage: _error_page,
    RequestValidationError: _validation_error,
    HTTPException: _http_error,
    IntegrityError: _integrity_error,
    IntegrityViolation: _integrity_error,
}


def install(app: FastAPI) -> None:
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
