"""A redirect URI says exactly one host: userinfo, backslashes and control characters are
refused at registration and never match at /authorize, and the loopback any-port rule compares
scheme, host, path and query exactly (issue 16, finding 4)."""

from __future__ import annotations

import pytest

from tests.support.web import WebClient, pkce_pair

REGISTERED = "http://127.0.0.1/cb"


@pytest.fixture
def native(admin):
    return WebClient.register(admin, redirect_uris=[REGISTERED], token_endpoint_auth_method="none")


def _ask(browser, native, redirect_uri: str, **extra: str):
    _, challenge = pkce_pair()
    params = native.params(
        redirect_uri=redirect_uri, code_challenge=challenge, code_challenge_method="S256", **extra
    )
    return browser.authorize(params)


@pytest.mark.parametrize(
    "uri",
    [
        "http://x@127.0.0.1:5555/cb",
        "http://localhost:8401\\@127.0.0.1/cb",
        "http://127.0.0.1:5555\\@evil.example/cb",
        "http://127.0.0.1:5555/cb\t",
        "http://127.0.0.1:5555/c\x7fb",
        "http://:@127.0.0.1/cb",
    ],
)
@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_a_redirect_uri_with_userinfo_or_a_backslash_is_not_the_registered_one(
    browser, native, uri, mode
):
    response = _ask(browser, native, uri, response_mode=mode)
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert "not registered" in response.text


@pytest.mark.parametrize(
    ("uri", "matches"),
    [
        ("http://127.0.0.1:5555/cb", True),  # RFC 8252 §7.3: any port on a loopback IP
        ("http://127.0.0.1/cb", True),
        ("http://127.0.0.1:5555/cb/", False),
        ("http://127.0.0.1:5555/CB", False),
        ("http://127.0.0.1:5555/cb?x=1", False),
        ("http://127.0.0.2:5555/cb", False),
        ("https://127.0.0.1:5555/cb", False),
    ],
)
def test_the_loopback_rule_compares_everything_but_the_port(browser, native, uri, matches):
    response = _ask(browser, native, uri)
    if matches:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/login/")
    else:
        assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "uri",
    [
        "http://x@127.0.0.1/cb",
        "https://app.example.com@evil.example/cb",
        "https://app.example.com\\@evil.example/cb",
        "https://app.example.com/c b",
        "com.example.app:/c\\b",
    ],
)
def test_registration_refuses_userinfo_backslashes_and_control_characters(admin, uri):
    response = admin.post(
        "/admin/clients",
        json={"redirect_uris": [uri], "grant_types": ["authorization_code"]},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_redirect_uri"
