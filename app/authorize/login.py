"""The login page of the redirect flow: the user is asked on their phone, like every decoupled
login (the same requests, state machine and devices as CIBA; mode ``authorize``).

Each try is one authentication request (an *attempt*) of the page: an open one whose rotating QR
code the page shows, or one addressed to the user typed in, pushed to their phone with a short
code to compare. The page follows its attempt over server-sent events and continues the moment
the phone decides; when the attempt is approved, ``continue`` consumes it, issues the code and
sends the browser back to the client. Every form carries a CSRF token; every step checks that
this browser opened the page.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import segno
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize import store, tries
from app.authorize.browser import browser_id, csrf_ok, csrf_token, session_token, set_session
from app.authorize.codes import issue_code
from app.authorize.models import StoredAuthorization
from app.authorize.origin import browser_origin
from app.authorize.params import is_registered
from app.authorize.respond import ReturnTo, csp_source
from app.authorize.sessions import consents_after, find_session, start_session
from app.ciba.flow import start
from app.ciba.params import Ask
from app.ciba.tokens import approved_grant, check_still_allowed
from app.clients.metadata import AUTHORIZATION_CODE
from app.clients.models import Client
from app.decoupled.models import LOGIN_PAGE_MODE, AuthRequest
from app.decoupled.states import Status
from app.devices.decisions import NUMBER_MATCH
from app.errors import AccessDenied, TokenAccessDenied, TooManyRequests
from app.events import request_topic
from app.http.deps import ServicesDep
from app.http.forms import read_form
from app.http.pages import ErrorPage, error_page, render
from app.http.scope_words import SCOPE_WORDS
from app.rar.render import in_words
from app.services import Services
from app.storage.types import utcnow

router = APIRouter(tags=["login"])

WAITING = ("choose", "phone", "scanned")
KEEPALIVE_SECONDS = 15.0
ORIGIN = "origin"  # where the browser is (app/authorize/origin.py); shown on the phone
DECOY = "decoy"  # marks a try that only looks like a push (see ask_phone)
GONE = (
    "This sign-in page has expired or was opened in another browser. Go back to the "
    "application and start again."
)


def state_of(attempt: AuthRequest | None) -> str:
    """What the page shows for its attempt: ``choose`` (type a name or scan), ``phone`` (sent
    to a named user), ``scanned``, then ``approved``, ``denied``, ``expired``, ``cancelled`` or
    ``failed`` (consumed without this page: cannot happen in one browser, shown as a retry)."""
    if attempt is None:
        return "choose"
    status = Status(attempt.status)
    if status == Status.PENDING:
        if attempt.expires_at <= utcnow():
            return "expired"
        if attempt.user_id is None and not attempt.extra.get(DECOY):
            return "choose"
        return "scanned" if attempt.claimed_at is not None else "phone"
    if status == Status.CONSUMED:
        return "failed"
    return status.value


@router.get("/login/{page_id}")
async def login_page(page_id: str, request: Request, services: ServicesDep) -> Response:
    page, client, browser = await _page(services, request, page_id)
    attempt = await _attempt(services, page)
    if attempt is None:
        try:
            await tries.admit(services.db, services.settings, request, page)
        except TooManyRequests as exc:
            return _busy(services, page, client, browser, None, exc)
        attempt = await _new_attempt(services, request, page, client, user=None)
    return _show(services, page, client, browser, attempt, None)


@router.post("/login/{page_id}/ask")
async def ask_phone(page_id: str, request: Request, services: ServicesDep) -> Response:
    """The user typed who they are: ask that user's phone.

    Whoever is typed — a user with a phone, one without, an unknown name, a user whose phone
    had too many requests this minute — the page shows the same wait for the phone, with a
    number, until the try expires: it tells nobody who has an account (a decoy try stands in
    where no push is sent)."""
    page, client, browser, form = await _form(services, request, page_id)
    attempt = await _attempt(services, page)
    username = form.get("username", "").strip()
    try:
        await tries.admit(services.db, services.settings, request, page)
    except TooManyRequests as exc:
        return _busy(services, page, client, browser, attempt, exc, hint=username)
    if not await _cancel(services, attempt):
        return _back_to(page)  # approved meanwhile: the page goes on with that
    user = await services.users.find_by_hint(username) if 0 < len(username) <= 256 else None
    if user is not None and user.active and await services.devices.for_user(user.id):
        with contextlib.suppress(TooManyRequests):  # the per-user push cap: a decoy, below
            await _new_attempt(services, request, page, client, user=user)
            return _back_to(page)
    await _new_attempt(services, request, page, client, user=None, decoy=True)
    return _back_to(page)


@router.post("/login/{page_id}/retry")
async def retry(page_id: str, request: Request, services: ServicesDep) -> Response:
    """Start over with a new QR code (after a denial or expiry, or to change account)."""
    page, client, browser, _ = await _form(services, request, page_id)
    attempt = await _attempt(services, page)
    try:
        await tries.admit(services.db, services.settings, request, page)
    except TooManyRequests as exc:
        return _busy(services, page, client, browser, attempt, exc)
    if await _cancel(services, attempt):
        await _new_attempt(services, request, page, client, user=None)
    return _back_to(page)


@router.post("/login/{page_id}/cancel")
async def cancel(page_id: str, request: Request, services: ServicesDep) -> Response:
    """The user gives up: the client hears ``access_denied`` (RFC 6749 §4.1.2.1)."""
    page, client, _, _ = await _form(services, request, page_id)
    params = store.params_of(page)
    if not is_registered(params.redirect_uri, client) or not await _cancel(
        services, await _attempt(services, page)
    ):
        return _back_to(page)
    async with services.db.session() as session:
        if not await store.mark_used(session, page.id):
            return error_page(GONE, 403)
        await session.commit()
    to = ReturnTo(params.redirect_uri, params.response_mode, params.state)
    return to.error(AccessDenied("the user cancelled the sign-in"), services.settings)


@router.post("/login/{page_id}/continue")
async def finish(page_id: str, request: Request, services: ServicesDep) -> Response:
    """The attempt was approved: consume it, issue the code and a session, go back."""
    page, client, _, _ = await _form(services, request, page_id)
    attempt = await _attempt(services, page)
    if attempt is None or attempt.status != Status.APPROVED:
        return _back_to(page)
    settings = services.settings
    params = store.params_of(page)
    if not is_registered(params.redirect_uri, client):  # unregistered since the page opened
        return error_page("The application no longer accepts this sign-in. Start again.")
    to = ReturnTo(params.redirect_uri, params.response_mode, params.state)
    previous = await find_session(services.db, session_token(request, settings))
    issued: dict[str, str] = {}

    async def within(session: AsyncSession, consumed: AuthRequest) -> None:
        await check_still_allowed(session, consumed, client, AUTHORIZATION_CODE)
        assert consumed.device_id is not None
        if not await store.mark_used(session, page.id):
            raise ErrorPage(GONE, 403)  # a racing step used the page: this move rolls back
        grant = approved_grant(consumed)
        issued["code"] = issue_code(session, params, grant, settings.authorization_code_lifetime)
        if settings.session_lifetime:
            issued["session"] = start_session(
                session,
                grant,
                settings.session_lifetime,
                device_id=consumed.device_id,
                consents=consents_after(previous, client.client_id, grant),
            )

    try:
        moved = await services.requests.transition(
            attempt.id,
            Status.CONSUMED,
            {"consumed_at": utcnow()},
            from_=Status.APPROVED,
            within=within,
        )
    except TokenAccessDenied as exc:  # the user or device is gone: the client hears so
        await services.requests.transition(attempt.id, Status.DENIED, from_=Status.APPROVED)
        async with services.db.session() as session:
            await store.mark_used(session, page.id)
            await session.commit()
        return to.error(AccessDenied(exc.description), settings)
    if moved is None:  # expired in between, or a second click: the page shows where it is
        return _back_to(page)
    response = to.success(issued["code"], settings)
    if "session" in issued:
        set_session(response, issued["session"], settings)
    return response


@router.get("/login/{page_id}/events")
async def events(page_id: str, request: Request, services: ServicesDep) -> Response:
    """Server-sent events for the page's attempt: ``status`` on every change and ``qr`` as the
    code rotates; the stream ends when the attempt has its result."""
    found = await _find(services, request, page_id)
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    page, _, _ = found
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _follow(services, page.attempt_id), media_type="text/event-stream", headers=headers
    )


async def _follow(services: Services, attempt_id: str | None) -> AsyncIterator[str]:
    yield "retry: 10000\n\n"  # when the stream ends, a browser reconnects no sooner than this
    if attempt_id is None:
        yield _event("status", {"status": "choose"})
        return
    period = services.settings.qr_rotation_seconds
    shown: dict[str, Any] = {}
    async with services.bus.subscribe([request_topic(attempt_id)]) as changes:
        while True:
            attempt = await services.requests.get(attempt_id)
            state = state_of(attempt)
            if shown.get("status") != state:
                shown["status"] = state
                yield _event("status", {"status": state})
            if state not in WAITING or attempt is None:
                return
            open_qr = state == "choose" and attempt.qr_secret is not None
            if open_qr and shown.get("qr") != (uri := services.qr.uri(attempt)):
                shown["qr"] = uri
                yield _event("qr", {"image": qr_image(uri)})
            until_expiry = (attempt.expires_at - utcnow()).total_seconds() + 0.5
            next_step = period - time.time() % period + 0.01
            timeout = min(until_expiry, next_step if open_qr else KEEPALIVE_SECONDS)
            if await changes.get(max(0.0, timeout)) is None and not open_qr:
                yield ": keepalive\n\n"  # a comment: keeps proxies from closing a quiet stream


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def qr_image(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


async def _page(
    services: Services, request: Request, page_id: str
) -> tuple[StoredAuthorization, Client, str]:
    found = await _find(services, request, page_id)
    if found is None:
        raise ErrorPage(GONE)
    return found


async def _find(
    services: Services, request: Request, page_id: str
) -> tuple[StoredAuthorization, Client, str] | None:
    """The page, its client and this browser's id, when this browser opened the page."""
    browser = browser_id(request, services.settings)
    page = await store.find_login(services.db, page_id, browser)
    if page is None or browser is None:
        return None
    client = await services.clients.get(page.client_id)
    return (page, client, browser) if client is not None else None


async def _form(
    services: Services, request: Request, page_id: str
) -> tuple[StoredAuthorization, Client, str, dict[str, str]]:
    """A page's form post, with its CSRF token checked: the page, its client, this browser's
    id and the form."""
    found = await _find(services, request, page_id)
    form = await read_form(request)
    if found is None or not csrf_ok(found[2], page_id, form.get("csrf")):
        raise ErrorPage(GONE, 403)
    return (*found, form)


async def _attempt(services: Services, page: StoredAuthorization) -> AuthRequest | None:
    return await services.requests.get(page.attempt_id) if page.attempt_id else None


async def _new_attempt(
    services: Services,
    request: Request,
    page: StoredAuthorization,
    client: Client,
    *,
    user: Any,
    decoy: bool = False,
) -> AuthRequest:
    """A new try for the page: a QR code (``user`` None), a push to ``user``'s phone, or a
    ``decoy`` that looks like a push to the page and reaches no phone (its QR is never shown,
    so no device can claim it)."""
    params = store.params_of(page)
    ask = Ask(
        user=user,
        scope=params.scope,
        expires_in=services.settings.ciba_default_expiry,
        acr_values=params.acr_values,
        authorization_details=params.authorization_details,
        # A CIBA user code is typed into the client's terminal; a person at this page has none.
        user_code_checked=True,
    )
    # A push to a named user carries a number the page shows and the user types on the phone:
    # anyone can type a name here, but only the person at this page can approve. (A QR scan
    # needs none: the phone was at the page.)
    named = user is not None or decoy
    extra: dict[str, Any] = {NUMBER_MATCH: f"{secrets.randbelow(90) + 10}"} if named else {}
    # The phone shows where this browser is before the user claims its code or approves.
    extra[ORIGIN] = browser_origin(request, services.settings)
    if decoy:
        extra[DECOY] = True
    # Anyone may open a login page, so its tries are not counted against the client's budget
    # (that would let strangers block the client's CIBA requests); the per-user limit stays.
    attempt, _ = await start(
        services, client, ask, LOGIN_PAGE_MODE, count_client=False, extra=extra
    )
    await store.set_attempt(services.db, page.id, attempt.id)
    return attempt


async def _cancel(services: Services, attempt: AuthRequest | None) -> bool:
    """End the page's attempt if it is still pending. False when it was approved (maybe just
    now, racing this step): that approval must not be thrown away."""
    if attempt is None or attempt.status != Status.PENDING:
        return attempt is None or attempt.status != Status.APPROVED
    if await services.requests.transition(attempt.id, Status.CANCELLED, from_=Status.PENDING):
        return True
    current = await services.requests.get(attempt.id)
    return current is None or current.status != Status.APPROVED


def _back_to(page: StoredAuthorization) -> Response:
    return RedirectResponse(
        f"/login/{page.id}", status_code=303, headers={"Cache-Control": "no-store"}
    )


def _busy(
    services: Services,
    page: StoredAuthorization,
    client: Client,
    browser: str,
    attempt: AuthRequest | None,
    refused: TooManyRequests,
    hint: str | None = None,
) -> Response:
    """The page as it was, with why no new try started and when one may (429, RFC 6585 §4)."""
    message = refused.description or "Too many sign-in attempts; wait a minute and try again."
    shown = _show(services, page, client, browser, attempt, message, status=429, hint=hint)
    shown.headers.update(refused.headers or {})
    return shown


def _show(
    services: Services,
    page: StoredAuthorization,
    client: Client,
    browser: str,
    attempt: AuthRequest | None,
    message: str | None,
    *,
    status: int = 200,
    hint: str | None = None,
) -> Response:
    params = store.params_of(page)
    state = state_of(attempt)
    qr = None
    if attempt is not None and state == "choose" and attempt.qr_secret:
        qr = qr_image(services.qr.uri(attempt))
    words = [SCOPE_WORDS.get(s, s) for s in params.scope.split()]
    return render(
        "login.html",
        status,
        page_id=page.id,
        client_name=client.meta.client_name or client.client_id,
        scope_text=", ".join(words),
        payment_lines=in_words(params.authorization_details, services.settings),
        state=state,
        number=attempt.extra.get(NUMBER_MATCH) if attempt else None,
        login_hint=hint if hint is not None else (params.login_hint or ""),
        qr=qr,
        message=message,
        csrf=csrf_token(browser, page.id),
        form_targets=[csp_source(params.redirect_uri)],
    )
