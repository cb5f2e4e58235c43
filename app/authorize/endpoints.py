"""GET/POST /authorize (RFC 6749 §4.1, OpenID Core §3.1.2) and POST /par (RFC 9126).

/authorize: find the client and its exact redirect URI (else an error page), check the rest
(else an error back at that URI), then either answer at once from the browser's session or open
a login page. A ``request_uri`` from /par stands for every parameter but ``client_id``.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from app.authorize import store
from app.authorize.browser import browser_id, ensure_browser, session_token
from app.authorize.codes import issue_code
from app.authorize.models import BrowserSession
from app.authorize.params import (
    AuthorizationParams,
    NoRedirect,
    is_registered,
    redirect_uri,
    response_mode,
    validate,
)
from app.authorize.respond import ReturnTo
from app.authorize.sessions import consented, find_session
from app.clients import fapi
from app.clients.models import Client
from app.dpop.proof import verify_proof
from app.errors import (
    ConsentRequired,
    InvalidDpopProof,
    InvalidRequest,
    LoginRequired,
    OAuthError,
)
from app.http.deps import ServicesDep
from app.http.errors import NO_STORE
from app.http.forms import read_form, read_pairs, refuse_nul_pairs
from app.http.json import JSONResponse
from app.http.pages import error_page
from app.services import Services
from app.storage.types import utcnow
from app.tokens.response import Grant

router = APIRouter(tags=["oauth"])

# Prompts that ask for the user, not the session (OpenID Core §3.1.2.1): the phone shows the
# client and the scope, so its approval is both the login and the consent.
FRESH_LOGIN = frozenset({"login", "consent", "select_account"})


@router.api_route("/authorize", methods=["GET", "POST"])
async def authorize(request: Request, services: ServicesDep) -> Response:
    try:
        pairs = await _pairs(request)
        if request.method == "POST" and not _has_our_cookies(request, services):
            # A cross-site POST carries no SameSite=Lax cookie, so it would look like a new
            # browser (and overwrite the cookie binding this browser's open pages). A 303 makes
            # it a top-level GET, which carries them.
            return RedirectResponse("/authorize?" + urlencode(pairs), status_code=303)
        params, repeated = _collect(pairs)
        client = await _client(services, params, repeated)
        if "request_uri" in params:
            return await begin(request, services, await _pushed(services, params, client))
        uri = redirect_uri(params, client, repeated)
    except NoRedirect as exc:
        return error_page(exc.message)
    state = params.get("state")
    to = ReturnTo(uri, response_mode(params), state if state and len(state) <= 2000 else None)
    try:
        if client.meta.require_pushed_authorization_requests:
            raise InvalidRequest("this client must push its authorization requests to /par")
        checked = validate(params, client, services.settings, uri=uri, repeated=repeated)
    except OAuthError as exc:
        return to.error(exc, services.settings)
    return await begin(request, services, checked)


@router.post("/par")
async def pushed_authorization_request(request: Request, services: ServicesDep) -> Response:
    """RFC 9126 §2: the same checks as /authorize, answered in JSON; 201 with a single-use
    ``request_uri``."""
    form = await read_form(request)
    client = await services.authenticator.authenticate(
        form, request.headers.get("authorization"), services.settings.endpoint("/par")
    )
    if "request_uri" in form:
        raise InvalidRequest("request_uri cannot be pushed (RFC 9126 §2.1)")
    try:
        uri = redirect_uri(form, client, set())
    except NoRedirect as exc:
        raise InvalidRequest(exc.message) from None
    fapi.check_pushed_request(client.meta, form)
    checked = validate(form, client, services.settings, uri=uri, repeated=set())
    checked = await _bind_pushed(request, services, checked)
    request_uri = await store.push(services.db, checked, services.settings.par_lifetime)
    body = {"request_uri": request_uri, "expires_in": services.settings.par_lifetime}
    return JSONResponse(body, status_code=201, headers=NO_STORE)


async def _bind_pushed(
    request: Request, services: Services, checked: AuthorizationParams
) -> AuthorizationParams:
    """RFC 9449 §10.1: a DPoP proof sent to /par binds the code to its key, as dpop_jkt would;
    given both, they must name the same key."""
    proof = request.headers.get("dpop")
    if proof is None:
        return checked
    jkt = await verify_proof(services, proof, "POST", services.settings.endpoint("/par"))
    if checked.dpop_jkt is not None and checked.dpop_jkt != jkt:
        raise InvalidDpopProof("the DPoP proof is signed by another key than dpop_jkt names")
    return replace(checked, dpop_jkt=jkt)


async def begin(request: Request, services: Services, params: AuthorizationParams) -> Response:
    """Answer from the browser's session when it may stand for the phone; otherwise log in."""
    settings = services.settings
    to = ReturnTo(params.redirect_uri, params.response_mode, params.state)
    session = await find_session(services.db, session_token(request, settings))
    # A session stands for the phone only for sign-in: every payment (RFC 9396 details) is
    # approved on the phone, by the user, for its own amount and payee.
    reusable = session is not None and not params.authorization_details
    if reusable and session is not None and await _session_will_do(services, session, params):
        if consented(session, params.client_id, params.scope):
            # No phone in this login, so no consent to offline access (OpenID Core §11).
            scope = " ".join(s for s in params.scope.split() if s != "offline_access")
            grant = Grant(
                session.user_id, scope, session.auth_time, session.acr, tuple(session.amr)
            )
            async with services.db.session() as db:
                code = issue_code(db, params, grant, settings.authorization_code_lifetime)
                await db.commit()
            return to.success(code, settings)
        if "none" in params.prompt:
            return to.error(ConsentRequired("the user has not approved this client"), settings)
    if "none" in params.prompt:
        return to.error(LoginRequired("the user must sign in"), settings)
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    browser = ensure_browser(request, response, settings)
    page = await store.open_login(services.db, params, browser, settings.login_page_lifetime)
    response.headers["location"] = f"/login/{page.id}"
    return response


async def _pairs(request: Request) -> list[tuple[str, str]]:
    """The request's parameters: the query for GET, the form body for POST."""
    try:
        if request.method == "POST":
            return await read_pairs(request)
        return refuse_nul_pairs(request.query_params.multi_items())
    except InvalidRequest as exc:
        raise NoRedirect(f"The request is malformed: {exc.description}") from None


def _has_our_cookies(request: Request, services: Services) -> bool:
    settings = services.settings
    return browser_id(request, settings) is not None or session_token(request, settings) is not None


def _collect(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """Parameters by name (empty means absent), and the names sent more than once."""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in params:
            repeated.add(name)
        elif value != "":
            params[name] = value
    return params, repeated


async def _session_will_do(
    services: Services, session: BrowserSession, params: AuthorizationParams
) -> bool:
    """The session may stand for a login unless the client asks for a fresh one, the session
    is older than ``max_age``, or ``login_hint`` names someone else (OpenID Core §3.1.2.1)."""
    if FRESH_LOGIN & set(params.prompt) or params.max_age == 0:
        return False
    if params.max_age is not None and utcnow().timestamp() - session.auth_time > params.max_age:
        return False
    if params.login_hint is not None:
        hinted = await services.users.find_by_hint(params.login_hint)
        return hinted is not None and hinted.id == session.user_id
    return True


async def _client(services: Services, params: dict[str, str], repeated: set[str]) -> Client:
    client_id = params.get("client_id")
    if client_id is None or "client_id" in repeated:
        raise NoRedirect("The request names no application (client_id).")
    client = await services.clients.get(client_id) if len(client_id) <= 128 else None
    if client is None:
        raise NoRedirect("The application (client_id) is not known to this server.")
    return client


async def _pushed(
    services: Services, params: dict[str, str], client: Client
) -> AuthorizationParams:
    """RFC 9126 §4: the pushed request stands for every parameter; it must be this client's,
    fresh and unused, and its redirect URI still registered."""
    pushed = await store.take_pushed(services.db, params["request_uri"], client.client_id)
    if pushed is None:
        raise NoRedirect(
            "The pushed authorization request (request_uri) is unknown, expired or used already."
        )
    if not is_registered(pushed.redirect_uri, client):
        raise NoRedirect("The redirect_uri is no longer registered for this application.")
    return pushed
