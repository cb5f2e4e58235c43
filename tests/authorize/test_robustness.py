"""Garbage in every parameter of /authorize, /par and the login page: a clean page, redirect or
JSON error, never a 500, and never a redirect anywhere but the registered URI or our own page."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.web import REDIRECT_URI, WebClient

GARBAGE = [
    "", " ", "=", "&&&", "%", "%zz", "é=ü", "x" * 3000, "{}", "null", "\u202e", "a\tb",
    "code", "none", "S256", "-1", "99999999999999999999", "urn:ietf:params:oauth:request_uri:",
]  # fmt: skip
PARAMS = [
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "max_age",
    "login_hint", "acr_values", "response_mode", "code_challenge", "code_challenge_method",
    "request_uri", "request",
]  # fmt: skip


def _acceptable(response) -> None:
    assert response.status_code in (200, 303, 400, 401, 403, 404, 429), response.text
    if response.status_code == 303:
        location = response.headers["location"]
        assert location.startswith((REDIRECT_URI + "?", "/login/")), location


@pytest.mark.parametrize("name", PARAMS)
def test_authorize_survives_garbage_in_each_parameter(admin, browser, name):
    web = WebClient.register(admin)
    for value in GARBAGE:
        params = web.params(**{name: value})
        for method in ("GET", "POST"):
            _acceptable(browser.authorize(params, method))


def test_par_and_login_pages_survive_garbage(admin, http, browser):
    web = WebClient.register(admin)
    for value in GARBAGE:
        for name in PARAMS:
            body = web.params(**{name: value})
            body.pop("client_id")
            response = http.post("/par", data=body, auth=web.auth)
            assert response.status_code in (201, 400, 401), response.text
    page = browser.open_login(web.params())
    for value in GARBAGE:
        for action in ("ask", "retry", "continue"):
            _acceptable(browser.http.post(f"{page.path}/{action}", data={"csrf": value}))
        _acceptable(page.post("ask", username=value))
        quoted = quote(value, safe="")
        for path in (f"/login/{quoted}", f"/login/{quoted}/events"):
            response = browser.http.get(path)
            assert response.status_code in (400, 404), (path, response.text)
    bad_body = browser.http.post(
        f"{page.path}/ask", content=b"\xff\xfe", headers={"content-type": "text/plain"}
    )
    assert bad_body.status_code in (400, 403)
