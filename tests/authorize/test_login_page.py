"""The login page over HTTP: sessions that skip the phone (and when they may not), denial and
expiry with a retry, who may use a page (its browser, with its CSRF token), the page's event
stream, its cookies and headers."""

from __future__ import annotations

import json
import re
import threading

import httpx
import pytest

from tests.support.ciba import verify_id_token
from tests.support.waiting import wait_for
from tests.support.web import Browser, current_qr, log_in, pkce_pair, returned, with_pkce


def test_a_returning_user_skips_the_phone_within_the_session(http, server, browser, web, phone):
    first = log_in(browser, web, phone, "+15551234567", scope="openid offline_access")
    tokens = web.redeem(http, first["code"], code_verifier=first["verifier"]).json()
    auth_time = verify_id_token(server.url, tokens["id_token"], web.client_id)["auth_time"]

    verifier, challenge = pkce_pair()
    again = browser.authorize(
        web.params(
            code_challenge=challenge,
            code_challenge_method="S256",
            scope="openid offline_access",
            max_age="3600",
        )
    )
    values = returned(again)  # straight back with a code: no login page, no phone
    assert phone.pending() == []
    second = web.redeem(http, values["code"], code_verifier=verifier).json()
    claims = verify_id_token(server.url, second["id_token"], web.client_id)
    assert claims["auth_time"] == auth_time  # the original login
    # Without the phone there was no consent to offline access.
    assert "refresh_token" not in second and second["scope"] == "openid"
    silent = browser.authorize(with_pkce(web, prompt="none", scope="openid"))
    assert "code" in returned(silent)


@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"prompt": "consent"}, {"max_age": "0"}])
def test_a_client_can_ask_for_a_fresh_login(browser, web, phone, extra):
    log_in(browser, web, phone, "kim")
    again = browser.authorize(with_pkce(web, **extra))
    assert again.status_code == 303 and again.headers["location"].startswith("/login/")


def test_an_old_session_fails_max_age_and_prompt_none(server, browser, web, phone):
    log_in(browser, web, phone, "kim")
    server.call(lambda s: _age_sessions(s, 120))
    assert browser.authorize(with_pkce(web, max_age="60")).headers["location"].startswith("/login/")
    values = returned(browser.authorize(with_pkce(web, prompt="none", max_age="60")))
    assert values["error"] == "login_required"
    assert "code" in returned(browser.authorize(with_pkce(web, max_age="600")))


async def _age_sessions(services, seconds: int) -> None:
    from sqlalchemy import update

    from app.authorize.models import BrowserSession

    async with services.db.session() as session:
        await session.exec(
            update(BrowserSession).values(auth_time=BrowserSession.auth_time - seconds)
        )
        await session.commit()


def test_denial_shows_a_message_and_a_retry(browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    phone.answer("deny")
    shown = page.get().text
    assert "denied on the phone" in shown and 'id="retry"' in shown
    # Continuing a denied attempt sends the browser back to the page, not to the client.
    assert page.finish().headers["location"] == page.path
    retried = page.post("retry")
    assert retried.status_code == 303
    assert 'id="qr"' in page.get().text  # a new attempt, with a new QR code
    page.ask("kim")
    phone.answer("approve", number_match=page.number())
    assert "code" in returned(page.finish())


def test_expiry_shows_a_message_and_a_retry(server, browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    server.expire_rows("auth_requests")
    shown = page.get().text
    assert "expired before it was approved" in shown and 'id="retry"' in shown


def test_unknown_users_and_users_without_a_phone_get_one_answer(admin, browser, web, phone):
    page = browser.open_login(with_pkce(web))
    admin.post("/admin/users", json={"username": "newbie"})
    for name in ("nobody", "newbie"):  # the page does not tell who has an account
        assert page.ask(name).status_code == 303
        shown = page.get().text
        assert "We sent a request to your phone" in shown and page.number()
        assert 'id="retry"' in shown  # "use another account" brings the QR way back
    assert phone.pending() == []


def test_login_hint_fills_in_the_name(browser, web):
    page = browser.open_login(with_pkce(web, login_hint="kim@example.com"))
    assert 'value="kim@example.com"' in page.get().text


def test_forms_need_the_csrf_token_and_the_browser_that_opened_the_page(server, browser, web):
    page = browser.open_login(with_pkce(web))
    for action in ("ask", "retry", "continue"):
        forged = page.post(action, csrf="forged", username="kim")
        assert forged.status_code == 403 and "expired or was opened" in forged.text
    stranger = Browser(server.url)
    try:
        assert stranger.http.get(page.path).status_code == 400
        stolen = stranger.http.post(page.path + "/ask", data={"csrf": page.csrf()})
        assert stolen.status_code == 403
        assert stranger.http.get(page.path + "/events").status_code == 404
    finally:
        stranger.close()
    assert browser.http.get("/login/not-a-page").status_code == 400


def test_cookies_and_headers(server, browser, web, phone):
    response = browser.authorize(with_pkce(web))
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # a loopback http issuer; https issuers set it (unit below)
    page = browser.http.get(response.headers["location"])
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'nonce-" in csp
    assert "form-action 'self' http://127.0.0.1:9999" in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_secure_cookies_with_an_https_issuer(database_url):
    from fastapi import Response

    from app.authorize.browser import set_session
    from tests.conftest import make_settings

    settings = make_settings(database_url, issuer="https://id.example.com")
    response = Response()
    set_session(response, "token", settings)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-bc-session=token")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_the_event_stream_follows_the_attempt(server, browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    seen: list[tuple[str, dict]] = []
    cookies = dict(browser.http.cookies)

    def listen() -> None:
        with (
            httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as client,
            client.stream("GET", page.path + "/events") as stream,
        ):
            seen.append(("content-type", {"value": stream.headers["content-type"]}))
            event = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event:
                    seen.append((event, json.loads(line.removeprefix("data: "))))

    listener = threading.Thread(target=listen)
    listener.start()

    wait_for(lambda: len(seen) >= 2, timeout=5)
    phone.answer("approve", number_match=page.number())
    listener.join(timeout=10)
    assert not listener.is_alive()  # the stream ended with the result
    assert seen == [
        ("content-type", {"value": "text/event-stream; charset=utf-8"}),
        ("status", {"status": "phone"}),
        ("status", {"status": "approved"}),
    ]


def test_the_open_attempt_streams_rotating_qr_codes(server, browser, web):
    page = browser.open_login(with_pkce(web))
    first = re.search(r'id="qr" alt="[^"]*" src="([^"]+)"', page.get().text)
    assert first and first.group(1).startswith("data:image/svg+xml")
    with browser.http.stream("GET", page.path + "/events", timeout=15) as stream:
        images = []
        for line in stream.iter_lines():
            if line.startswith("data: ") and "image" in line:
                images.append(json.loads(line.removeprefix("data: "))["image"])
                if len(images) == 2:
                    break
    assert images[0] != images[1]


def test_scanning_the_page_qr_then_approving_logs_in(http, server, browser, web, phone):
    verifier, challenge = pkce_pair()
    page = browser.open_login(web.params(code_challenge=challenge, code_challenge_method="S256"))
    assert 'id="qr"' in page.get().text  # showing the page opens its attempt
    scanned = http.post(
        "/devices/me/scan",
        json={"qr_uri": current_qr(server, page.path)},
        headers=phone.device.auth(),
    )
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["client_name"] == "Web shop"
    assert "Approve the request on your phone" in page.get().text
    phone.answer("approve")
    assert "Approved" in page.get().text
    values = returned(page.finish())
    assert values["code"]
    # The scanning phone's user is the one logged in.
    tokens = web.redeem(http, values["code"], code_verifier=verifier).json()
    claims = verify_id_token(server.url, tokens["id_token"], web.client_id)
    assert claims["sub"] == phone.user["id"]


def test_a_camera_scan_lands_on_the_web_authenticator(http, server):
    for path in ("/qr/abcdefgh.1.xyz", "/authenticator"):
        page = http.get(path)
        assert page.status_code == 200 and "<h1>Authenticator</h1>" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        ws = "ws" + server.url.removeprefix("http")
        assert f"connect-src 'self' {ws};" in page.headers["content-security-policy"]


def test_a_push_without_the_pages_number_is_denied(http, browser, web, phone):
    page = browser.open_login(with_pkce(web))
    for claims in ({}, {"number_match": "wrong"}):  # no number, or a guess: one try, denied
        page.ask("kim")
        (shown,) = phone.pending()
        assert shown["number_match_required"] is True
        answer = phone.device.decide(http, shown["id"], "approve", **claims)
        assert answer.status_code == 400 and "number" in answer.json()["error_description"]
        assert "denied on the phone" in page.get().text
        assert phone.pending() == []
        assert page.post("continue").headers["location"] == page.path  # no code
