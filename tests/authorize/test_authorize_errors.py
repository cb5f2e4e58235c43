"""Every way an authorization request can be wrong: shown to the user when the redirect URI
cannot be trusted, sent back to the client (with state and iss) once it can."""

from __future__ import annotations

import pytest

from tests.support.web import REDIRECT_URI, WebClient, pkce_pair, returned


def _changed(params: dict, change: dict) -> dict:
    """``params`` with ``change`` applied; a None value removes the parameter."""
    changed = {**params, **change}
    return {name: value for name, value in changed.items() if value is not None}


def _error_page(response) -> str:
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    return response.text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"client_id": None}, "names no application"),
        ({"client_id": "nobody"}, "not known"),
        ({"redirect_uri": None}, "names no redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:9999/other"}, "not registered"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "not registered"),  # exact match, no prefix
        ({"redirect_uri": REDIRECT_URI + "?x=1"}, "not registered"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:nope"}, "unknown, expired or used"),
    ],
)
def test_no_trusted_redirect_shows_an_error_page(browser, web, change, says):
    params = _changed(web.params(), change)
    assert says in _error_page(browser.authorize(params))


def test_repeated_client_id_or_redirect_uri_is_an_error_page(server, browser, web):
    query = web.params()
    repeated = "&".join(f"{k}={v}" for k, v in query.items()) + f"&redirect_uri={REDIRECT_URI}"
    assert "repeats redirect_uri" in _error_page(browser.http.get("/authorize?" + repeated))
    twice = "&".join(f"{k}={v}" for k, v in query.items()) + "&client_id=other"
    assert "names no application" in _error_page(browser.http.get("/authorize?" + twice))
    nul = browser.http.get("/authorize", params={**query, "state": "a\x00b"})
    assert nul.status_code == 400 and "location" not in nul.headers  # refused before routing
    assert nul.json()["error"] == "invalid_request"
    posted_nul = browser.authorize({**query, "state": "a\x00b"}, "POST")
    assert "malformed" in _error_page(posted_nul)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"scope": None}, "invalid_scope"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid payments"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "create"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "x" * 43}, "invalid_request"),  # no method means plain
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": "x" * 44, "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"nonce": "n" * 501}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),  # no session in this browser
    ],
)
def test_errors_go_back_to_the_client_with_state_and_iss(server, browser, web, change, error):
    params = _changed(web.params(), change)
    for method in ("GET", "POST"):
        values = returned(browser.authorize(params, method))
        assert values["error"] == error, values
        assert values["state"] == params["state"]
        assert values["iss"] == server.url
        assert values["error_description"]
        assert "code" not in values


def test_a_repeated_parameter_is_sent_back(server, browser, web):
    params = web.params()
    query = "&".join(f"{k}={v}" for k, v in params.items()) + "&scope=openid"
    values = returned(browser.http.get("/authorize?" + query))
    assert values["error"] == "invalid_request" and "scope" in values["error_description"]


def test_public_clients_must_use_pkce(admin, browser):
    public = WebClient.register(admin, token_endpoint_auth_method="none")
    values = returned(browser.authorize(public.params()))
    assert values["error"] == "invalid_request" and "PKCE" in values["error_description"]
    _, challenge = pkce_pair()
    ok = browser.authorize(public.params(code_challenge=challenge, code_challenge_method="S256"))
    assert ok.status_code == 303 and ok.headers["location"].startswith("/login/")


def test_a_client_without_the_code_grant_is_unauthorized(admin, browser):
    machine = WebClient.register(admin, grant_types=["client_credentials"])
    values = returned(browser.authorize(machine.params()))
    assert values["error"] == "unauthorized_client"


def test_the_registered_query_is_kept_and_form_post_answers_in_a_form(admin, server, browser):
    with_query = "http://127.0.0.1:9999/cb?tenant=7"
    web = WebClient.register(admin, redirect_uris=[with_query])
    response = browser.authorize(web.params(redirect_uri=with_query, response_type="token"))
    assert response.headers["location"].startswith(with_query + "&error=unsupported_response_type")
    posted = browser.authorize(
        web.params(redirect_uri=with_query, response_mode="form_post", prompt="none")
    )
    assert posted.status_code == 200
    assert f'action="{with_query.replace("?", "?")}"' in posted.text.replace("&amp;", "&")
    assert 'name="error" value="login_required"' in posted.text
    assert f'name="iss" value="{server.url}"' in posted.text
    assert "form-action 'self' http://127.0.0.1:9999" in posted.headers["content-security-policy"]
