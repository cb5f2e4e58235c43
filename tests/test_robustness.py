"""Bad input of every shape gets a 4xx in OAuth error form, never a 500."""

from __future__ import annotations

import random
import string

import pytest
from sqlalchemy.exc import IntegrityError

from app.storage.sql import IntegrityViolation
from tests.conftest import ADMIN_TOKEN
from tests.support.clients import JWT_BEARER

GARBAGE = [
    "", "a", "=", "&&&", "%", "%zz", "a=%00", "\u0000", "é=ü", "x" * 3000, "{}", "[]", "null",
    "eyJhbGciOiJFZERTQSJ9.e30.", "eyJ.eyJ.eyJ", "Basic", "Bearer ", "a.b.c",
]  # fmt: skip


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))


@pytest.mark.parametrize("value", GARBAGE)
def test_token_endpoint_survives_garbage_parameters(http, value):
    for form in (
        {"grant_type": value},
        {"grant_type": "client_credentials", "client_id": value},
        {"grant_type": "client_credentials", "client_id": value, "client_secret": value},
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": value,
        },
        {"grant_type": "client_credentials", "scope": value},
    ):
        response = http.post("/token", data=form)
        assert 400 <= response.status_code < 500, (form, response.text)
        assert "error" in response.json()


@pytest.mark.parametrize("value", GARBAGE)
def test_authorization_headers_of_any_shape_are_refused_cleanly(http, value):
    for scheme in ("Basic ", "Bearer ", ""):
        text = (scheme + value).strip() or "x"
        if "\x00" in text:
            continue  # not a legal header byte; no client can send it
        header = text.encode("latin-1", errors="replace")  # raw bytes, as a broken client sends
        token = http.post(
            "/token", data={"grant_type": "client_credentials"}, headers={"Authorization": header}
        )
        assert 400 <= token.status_code < 500
        admin = http.get("/admin/clients", headers={"Authorization": header})
        assert admin.status_code == 401


def test_random_bodies_never_cause_a_server_error(http):
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for _ in range(60):
        body = _random_text(rng).encode()
        for path, content_type in (
            ("/token", "application/x-www-form-urlencoded"),
            ("/admin/clients", "application/json"),
            ("/admin/users", "application/json"),
        ):
            response = http.post(
                path, content=body, headers={**headers, "Content-Type": content_type}
            )
            assert 400 <= response.status_code < 500, (path, body, response.text)


@pytest.mark.parametrize(
    "body",
    [
        {"redirect_uris": "https://a.example.com"},
        {"redirect_uris": [1, 2]},
        {"grant_types": "client_credentials"},
        {"jwks": "x"},
        {"jwks": {"keys": [{"kty": "EC"}]}},
        {"jwks": {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]}},
        {"client_name": {"a": 1}},
        {"scope": 5},
        {"backchannel_user_code_parameter": "sometimes"},
        {
            "grant_types": ["client_credentials"],
            "jwks_uri": "https://169.254.169.254/latest/meta-data",
        },
        {
            "grant_types": ["client_credentials"],
            "jwks_uri": "https://user:pw@keys.example.com/jwks",
        },
    ],
)
def test_odd_client_metadata_is_a_clean_400(admin, body):
    response = admin.post("/admin/clients", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")


def test_unknown_paths_and_methods_are_json_errors(http):
    missing = http.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert http.delete("/jwks").status_code == 405
    # The phone's calls are served directly (app/http/direct.py); their other methods, and
    # paths that only look like them, still get FastAPI's answers.
    assert http.get("/devices/me/requests/r1/decision").status_code == 405
    assert http.post("/devices/me/requests").status_code == 405
    for near in ("/devices/me/requests/a/b/decision", "/devices/me/requests//decision"):
        assert http.post(near, json={}).status_code == 404, near


@pytest.mark.parametrize(
    "path", ["/admin/clients/%00", "/admin/users/a%00b", "/admin/clients?x=%00"]
)
def test_nul_in_the_url_is_invalid_request(admin, path):
    response = admin.get(path)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_nul_in_json_strings_is_invalid_request(admin):
    response = admin.post("/admin/users", json={"username": "nul", "name": "a\u0000b"})
    assert response.status_code == 400
    response = admin.post(
        "/admin/clients", json={"grant_types": ["client_credentials"], "client_name": "\u0000"}
    )
    assert response.status_code == 400


REFUSED_WRITES = [
    IntegrityError("INSERT …", {}, Exception("FOREIGN KEY constraint failed")),  # the ORM's
    IntegrityViolation("FOREIGN KEY constraint failed"),  # app/storage/sql.py's
]


@pytest.mark.parametrize("refusal", REFUSED_WRITES, ids=["orm", "plain-sql"])
@pytest.mark.parametrize("direct", [False, True], ids=["routed", "direct"])
async def test_a_write_refused_by_a_constraint_is_a_conflict_not_a_500(refusal, direct):
    """A row deleted by another request between a request's checks and its write (a client
    removed mid-login, say) makes the database refuse the write: the answer is a 409, on the
    routed endpoints and on the direct ones (app/http/direct.py) alike."""
    import httpx
    from fastapi import FastAPI

    from app.http import errors
    from app.http.direct import DirectRoutes
    from app.http.middleware import RequestGuard

    async def write(*_: object) -> None:
        raise refusal

    async def routed() -> None:
        raise refusal

    app = FastAPI()
    errors.install(app)
    app.post("/write")(routed)
    asgi: object = app
    if direct:
        app.state.services = None
        routes = RequestGuard(DirectRoutes({("POST", "/write"): write}))  # type: ignore[dict-item]

        async def asgi(scope, receive, send):  # type: ignore[no-redef]
            scope["app"] = app
            await routes(scope, receive, send)

    transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/write")
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
