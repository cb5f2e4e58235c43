"""The login page in a real headless Chromium (Debian's package, driven by Playwright): a person
types their name, approves on the (simulated) phone, and the page, woken by its event stream,
carries the browser back to the client with a code. Denial, then a retry, too."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page

from tests.support.chromium import chromium, new_page
from tests.support.ciba import verify_id_token
from tests.support.web import WebClient, pkce_pair


@pytest.fixture
def page():
    with chromium() as browser:
        yield new_page(browser)


@pytest.fixture
def web(admin, callback):
    return WebClient.register(admin, redirect_uris=[callback])


def _authorize_url(server, web, callback, challenge) -> str:
    params = web.params(
        redirect_uri=callback, code_challenge=challenge, code_challenge_method="S256", state="xyz"
    )
    return server.url + "/authorize?" + urlencode(params)


def _code_after_redirect(page: Page, callback: str) -> str:
    page.wait_for_url(re.compile(re.escape(callback) + r"\?"))
    match = re.search(r"[?&]code=([^&]+)", page.url)
    assert match, page.url
    assert "state=xyz" in page.url and "iss=" in page.url
    return match.group(1)


def test_typed_username_then_phone_approval_returns_with_a_code(
    http, server, phone, web, callback, page: Page, tmp_path: Path
):
    verifier, challenge = pkce_pair()
    page.goto(_authorize_url(server, web, callback, challenge))
    assert page.locator("h1").inner_text() == "Sign in to Web shop"
    assert page.locator("#qr").is_visible()  # the other way in: scan with the app
    page.fill("#username", "kim")
    page.click("#send")
    number = page.locator("#number").inner_text()
    assert re.fullmatch(r"\d{2}", number)
    shot = tmp_path / "login-waiting-for-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 1000

    shown = phone.answer("approve", number_match=number)  # typed on the phone
    assert shown["number_match_required"] is True

    code = _code_after_redirect(page, callback)  # no click: the event stream moved the page on

    tokens = web.redeem(http, code, code_verifier=verifier, redirect_uri=callback)
    assert tokens.status_code == 200, tokens.text
    claims = verify_id_token(server.url, tokens.json()["id_token"], web.client_id)
    assert claims["sub"] == phone.user["id"]


def test_a_denial_is_shown_and_a_retry_succeeds(http, server, phone, web, callback, page, tmp_path):
    verifier, challenge = pkce_pair()
    page.goto(_authorize_url(server, web, callback, challenge))
    page.fill("#username", "kim")
    page.click("#send")
    page.locator("#number").wait_for()
    phone.answer("deny")
    page.locator("text=The request was denied on the phone.").wait_for()
    shot = tmp_path / "login-denied.png"
    page.screenshot(path=str(shot))
    assert shot.exists() and shot.stat().st_size > 1000

    page.fill("#username", "kim")  # the form is back, to try again
    page.click("#send")
    phone.answer("approve", number_match=page.locator("#number").inner_text())
    code = _code_after_redirect(page, callback)
    redeemed = web.redeem(http, code, code_verifier=verifier, redirect_uri=callback)
    assert redeemed.status_code == 200


def test_the_session_cookie_skips_the_login_next_time(server, phone, web, callback, page: Page):
    _, challenge = pkce_pair()
    page.goto(_authorize_url(server, web, callback, challenge))
    page.fill("#username", "kim")
    page.click("#send")
    phone.answer("approve", number_match=page.locator("#number").inner_text())
    _code_after_redirect(page, callback)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["bc-session"]["httpOnly"] and cookies["bc-session"]["sameSite"] == "Lax"
    page.goto(_authorize_url(server, web, callback, challenge))
    _code_after_redirect(page, callback)  # straight back, no page, no phone
    assert phone.pending() == []


def test_the_login_page_fits_a_phone_and_says_each_step_in_sentences(
    server, phone, web, callback, tmp_path: Path
):
    """At 390 px every step — who asks and for what, the number, a denial — fits the screen,
    with its buttons full width and every line a sentence."""
    folder = Path(os.environ.get("BACKCHANNEL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    _, challenge = pkce_pair()
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        def shot(name: str) -> None:
            fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, f"{name}: wider than the phone"
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

        def sentences() -> None:
            for text in page.locator("main p:visible").all_inner_texts():
                if text.strip() and not text.strip().isdigit():  # the number stands alone
                    line = text.strip()
                    assert line[0].isupper() and line[-1] in ".?!…:", f"not a sentence: {line!r}"

        page.goto(_authorize_url(server, web, callback, challenge))
        shot("login-phone")
        assert page.locator("#send").bounding_box()["width"] > 300  # type: ignore[index]
        sentences()
        page.fill("#username", "kim")
        page.click("#send")
        page.locator("#number").wait_for()
        shot("login-phone-number")
        sentences()
        phone.answer("deny")
        page.locator("text=The request was denied on the phone.").wait_for()
        shot("login-phone-denied")
        sentences()
        assert errors == []
