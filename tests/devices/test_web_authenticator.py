"""The web authenticator in a real headless Chromium: a phone with no app enrolls from its
enrollment link, keeps its key in the browser, and approves — a CIBA request, and a login page's
QR code opened by the phone's camera — and the number a login page shows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.chromium import chromium, new_page
from tests.support.ciba import CibaClient
from tests.support.payments import payment
from tests.support.web import WebClient, current_qr, with_pkce


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def user(admin):
    response = admin.post("/admin/users", json={"username": "ana"})
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def phone(browser, admin, user):
    """A phone's browser, enrolled from the link an administrator hands out. Any console error
    (a script failure, a CSP refusal) fails the test."""
    enrollment = admin.post(f"/admin/users/{user['id']}/enrollments").json()
    page = new_page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(enrollment["enrollment_uri"])
    page.locator("text=This phone is enrolled.").wait_for()
    assert "#" not in page.url  # the used code is off the screen and out of history
    yield page
    assert [e for e in errors if "status of 4" not in e] == []  # 4xx answers are expected


def test_enrolling_keeps_a_web_device_for_the_user(admin, user, phone):
    (device,) = admin.get(f"/admin/users/{user['id']}/devices").json()
    assert device["platform"] == "web"
    # The key stayed in the browser: a reload still finds the device and signs with it.
    phone.reload()
    phone.locator("text=Sign-in requests for you appear here.").wait_for()
    phone.locator("#empty").wait_for()  # the stream said: nothing waiting


def test_a_ciba_request_appears_and_is_approved(admin, http, phone):
    terminal = CibaClient.register(admin, http, client_name="<img src=x onerror=alert(1)>")
    auth_req_id = terminal.start(login_hint="ana", binding_message="Pay 20 EUR")
    card = phone.locator(".request")
    card.wait_for()  # pushed over the device stream, no reload
    # What clients send is shown as text, never as markup.
    assert "<img src=x onerror=alert(1)> asks you" in card.inner_text()
    assert card.locator("img").count() == 0
    assert "Pay 20 EUR" in card.inner_text()
    phone.dblclick(".approve")  # a double tap answers once
    phone.locator("text=Approved.").wait_for()
    tokens = terminal.poll(auth_req_id)
    assert tokens.status_code == 200, tokens.text
    assert "id_token" in tokens.json()


def test_a_denial_reaches_the_terminal(admin, http, phone):
    terminal = CibaClient.register(admin, http)
    auth_req_id = terminal.start(login_hint="ana")
    phone.locator(".request").wait_for()
    phone.click(".deny")
    phone.locator("text=Denied.").wait_for()
    assert terminal.poll(auth_req_id).json()["error"] == "access_denied"


@pytest.fixture
def desktop(admin, server, browser, callback):
    """Another device's browser, on the login page of a web client."""
    web = WebClient.register(admin, redirect_uris=[callback])
    page = new_page(browser)
    page.goto(server.url + "/authorize?" + urlencode(with_pkce(web, redirect_uri=callback)))
    return page


def test_a_login_page_qr_opened_by_the_phone_camera_signs_in(server, desktop, callback, phone):
    desktop.locator("#qr").wait_for()
    # The camera opens the code's https URL (Sec-Fetch-Site: none, as a link from a chat app
    # does too): the phone shows who asks and from where, and claims only when confirmed.
    phone.goto(current_qr(server, desktop.url.removeprefix(server.url)))
    confirm = phone.locator("#confirm")
    confirm.wait_for()
    assert "Sign in to Web shop" in confirm.inner_text()
    assert "network 127.0.0.0/24" in confirm.inner_text()
    assert phone.locator(".request").count() == 0
    assert desktop.locator("#qr").is_visible()  # not claimed yet
    phone.click("#confirm-button")
    card = phone.locator(".request")
    card.wait_for()
    assert "Web shop" in card.inner_text() and "network 127.0.0.0/24" in card.inner_text()
    desktop.locator("text=Code scanned").wait_for()
    phone.click(".approve")
    desktop.wait_for_url(callback + "?*")
    assert "code=" in desktop.url


def test_a_login_page_push_is_approved_with_the_pages_number(desktop, callback, phone):
    desktop.fill("#username", "ana")
    desktop.click("#send")
    number = desktop.locator("#number").inner_text()
    card = phone.locator(".request")
    card.wait_for()
    assert card.locator(".number").is_visible()
    card.locator(".number").fill(number)
    phone.click(".approve")
    desktop.wait_for_url(callback + "?*")
    assert "code=" in desktop.url


def test_a_wrong_number_typed_on_the_phone_denies(desktop, phone):
    desktop.fill("#username", "ana")
    desktop.click("#send")
    number = desktop.locator("#number").inner_text()
    card = phone.locator(".request")
    card.wait_for()
    assert card.locator(".approve").is_disabled()  # nothing to send until two digits
    card.locator(".number").fill("1")
    assert card.locator(".approve").is_disabled()
    card.locator(".number").fill("00" if number != "00" else "11")
    phone.click(".approve")
    phone.locator("text=the request is denied").wait_for()
    desktop.locator("text=The request was denied on the phone.").wait_for()


def test_a_code_followed_from_a_link_is_not_claimed_without_asking(server, desktop, phone):
    desktop.locator("#qr").wait_for()
    relayed = current_qr(server, desktop.url.removeprefix(server.url))
    # A new document, not set_content over the live one: document.write keeps the old page's
    # script running (its push setup then finds none of its elements, a flaky console error).
    phone.goto("about:blank")
    phone.set_content(f'<a id="bait" href="{relayed}">Claim your prize</a>')
    phone.click("#bait")
    phone.locator("text=never for a code someone sent you").wait_for()
    assert phone.locator(".request").count() == 0
    assert desktop.locator("#qr").is_visible()  # not claimed: the page still offers its QR
    phone.click("#confirm-button")  # the user says it is their own screen
    phone.locator(".request").wait_for()


def test_a_phone_removed_by_the_operator_says_so(admin, user, phone):
    (device,) = admin.get(f"/admin/users/{user['id']}/devices").json()
    assert admin.delete(f"/admin/devices/{device['device_id']}").status_code == 204
    phone.reload()
    phone.locator("text=This phone was removed from your account").wait_for()
    # A new link enrolls it again.
    enrollment = admin.post(f"/admin/users/{user['id']}/enrollments").json()
    phone.goto(enrollment["enrollment_uri"])
    phone.locator("text=This phone is enrolled.").wait_for()
    assert len(admin.get(f"/admin/users/{user['id']}/devices").json()) == 1


def test_reopening_a_used_link_keeps_the_phone(admin, user, browser):
    enrollment = admin.post(f"/admin/users/{user['id']}/enrollments").json()
    page = new_page(browser)
    page.goto(enrollment["enrollment_uri"])
    page.locator("text=This phone is enrolled.").wait_for()
    page.goto(enrollment["enrollment_uri"])
    page.locator("text=The enrollment link did not work").wait_for()
    page.locator("text=Sign-in requests for you appear here.").wait_for()
    assert len(admin.get(f"/admin/users/{user['id']}/devices").json()) == 1


def test_removing_the_phone_forgets_its_key(admin, user, phone):
    phone.click("#forget")
    phone.locator("text=This browser is not enrolled").wait_for()
    assert admin.get(f"/admin/users/{user['id']}/devices").json() == []


def test_a_payment_is_shown_in_plain_words_before_approve(admin, http, phone, tmp_path):
    """The phone shows the amount and payee before Approve (screenshot), and its approval signs
    the hash of exactly those details, so the terminal gets tokens carrying them."""
    details = [payment("42.10", "Corner Shop", "8841")]
    till = CibaClient.register(admin, http, client_name="Corner Shop till")
    auth_req_id = till.start(login_hint="ana", authorization_details=json.dumps(details))
    card = phone.locator(".request")
    card.wait_for()
    lines = card.locator(".payment-lines li")
    assert lines.first.inner_text() == (
        "Pay 42.10 EUR to Corner Shop (DE02100100109307118603), ref 8841"
    )
    assert card.locator(".payment").is_visible()
    # BACKCHANNEL_SCREENSHOTS=docs/screenshots keeps it for the docs, as the demo's tests do.
    shot = Path(os.environ.get("BACKCHANNEL_SCREENSHOTS") or tmp_path) / "authenticator-payment.png"
    phone.screenshot(path=str(shot), full_page=True)
    assert shot.exists() and shot.stat().st_size > 1000
    phone.click(".approve")
    phone.locator("text=Approved.").wait_for()
    tokens = till.poll(auth_req_id)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["authorization_details"] == details
