"""The authorization code flow end to end over a live server: a real client library (Authlib)
with PKCE, the login page answered by a simulated phone, the code redeemed, the tokens used."""

from __future__ import annotations

import re
import warnings
from urllib.parse import parse_qs, urlsplit

import authlib.deprecate  # noqa: F401  (it turns its own warnings to "always" when imported)

with warnings.catch_warnings():
    # Authlib 1.9 announces a move of its httpx client to httpx2; the client works as it is.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client

from tests.support.ciba import verify_id_token
from tests.support.web import REDIRECT_URI, WebClient, returned


def test_authlib_completes_code_and_pkce_with_a_phone_approval(admin, server, phone, browser):
    web = WebClient.register(admin)
    oauth = OAuth2Client(
        web.client_id,
        web.secret,
        scope="openid profile email offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = "v" * 20 + "-" + "x" * 40
    url, state = oauth.create_authorization_url(
        server.url + "/authorize", code_verifier=verifier, nonce="n-0S6_WzA2Mj"
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]

    # The browser follows the URL to the login page and asks for kim's phone.
    response = browser.http.get(url)
    assert response.status_code == 303
    login = browser.http.get(response.headers["location"])
    assert login.status_code == 200 and "Sign in to Web shop" in login.text
    page = response.headers["location"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
    asked = browser.http.post(page + "/ask", data={"csrf": csrf, "username": "kim@example.com"})
    assert asked.status_code == 303 and asked.headers["location"] == page
    waiting = browser.http.get(page)
    number = re.search(r'id="number">(\d+)<', waiting.text).group(1)

    # The phone says who asks and wants the page's number; the user types it and approves.
    shown = phone.answer("approve", number_match=number)
    assert shown["number_match_required"] is True
    assert shown["client_name"] == "Web shop"

    back = browser.http.post(page + "/continue", data={"csrf": csrf})
    values = returned(back)
    assert values["state"] == state and values["iss"] == server.url
    token = oauth.fetch_token(
        server.url + "/token",
        authorization_response=back.headers["location"],
        code_verifier=verifier,
    )
    assert set(token) >= {"access_token", "id_token", "refresh_token", "expires_in"}
    claims = verify_id_token(server.url, token["id_token"], web.client_id)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["sub"] == phone.user["id"]
    assert claims["acr"] == "urn:backchannel:acr:device" and claims["auth_time"] > 0
    assert "at_hash" in claims

    # The access token works at /userinfo, with claims by scope.
    info = oauth.get(server.url + "/userinfo").json()
    assert (info["sub"], info["name"], info["email"]) == (
        claims["sub"],
        "Kim Lee",
        "kim@example.com",
    )
    assert "phone_number" not in info  # not in the scope

    # And the refresh token rotates through the same library.
    refreshed = oauth.refresh_token(server.url + "/token", refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = verify_id_token(server.url, refreshed["id_token"], web.client_id)
    assert (again["sub"], again["auth_time"], again["azp"]) == (
        claims["sub"],
        claims["auth_time"],
        web.client_id,
    )


def test_a_public_client_with_pkce_and_pairwise_subjects(admin, http, server, phone, browser):
    web = WebClient.register(
        admin, token_endpoint_auth_method="none", subject_type="pairwise", scope="openid email"
    )
    oauth = OAuth2Client(
        web.client_id,
        scope="openid email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = "p" * 64
    url, _ = oauth.create_authorization_url(server.url + "/authorize", code_verifier=verifier)
    page = browser.http.get(url).headers["location"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.http.get(page).text).group(1)
    browser.http.post(page + "/ask", data={"csrf": csrf, "username": "kim"})
    number = re.search(r'id="number">(\d+)<', browser.http.get(page).text).group(1)
    phone.answer("approve", number_match=number)
    back = browser.http.post(page + "/continue", data={"csrf": csrf})
    token = oauth.fetch_token(
        server.url + "/token",
        authorization_response=back.headers["location"],
        code_verifier=verifier,
    )
    claims = verify_id_token(server.url, token["id_token"], web.client_id)
    assert claims["sub"] != phone.user["id"]  # pseudonymous for this client
    assert "refresh_token" not in token  # offline_access was not asked for
    info = http.get("/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert info.json()["sub"] == claims["sub"]


def test_discovery_advertises_the_redirect_flow(http, server):
    meta = http.get("/.well-known/openid-configuration").json()
    assert meta["authorization_endpoint"] == server.url + "/authorize"
    assert meta["pushed_authorization_request_endpoint"] == server.url + "/par"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["response_modes_supported"] == ["query", "form_post"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["require_pushed_authorization_requests"] is False
    assert "authorization_code" in meta["grant_types_supported"]
    assert set(meta["prompt_values_supported"]) == {"none", "login", "consent", "select_account"}
