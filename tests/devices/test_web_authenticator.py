"""The web authenticator in a real headless Chromium: a phone with no app enrolls from its
enrollment link, keeps its key in the browser, and approves — a CIBA request, and a login page's
QR code opened by the phone's camera — and the number a login page shows."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.chromium import chromium, new_page
from tests.support.ciba import CibaClient
from tests.support.receiver import Receiver
from tests.support.web import WebClient, pkce_pair


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
    """A phone's browser, enrolled from the link an administrator hands out."""
    enrollment = admin.post(f"/admin/users/{user['id']}/enrollments").json()
    page = new_page(browser)
    page.goto(enrollment["enrollment_uri"])
    page.locator("text=This phone is enrolled.").wait_for()
    assert "#" not in page.url  # the used code is off the screen and out of history
    return page


def test_enrolling_keeps_a_web_device_for_the_user(admin, user, phone):
    (device,) = admin.get(f"/admin/users/{user['id']}/devices").json()
    assert device["platform"] == "web"
    # The key stayed in the browser: a reload still finds the device and signs with it.
    phone.reload()
    phone.locator("text=Sign-in requests for you appear here.").wait_for()
    assert phone.locator("#empty").is_visible()


def test_a_ciba_request_appears_and_is_approved(admin, http, phone):
    terminal = CibaClient.register(admin, http, client_name="Till 4")
    auth_req_id = terminal.start(login_hint="ana", binding_message="Pay 20 EUR")
    card = phone.locator(".request")
    card.wait_for()  # pushed over the device stream, no reload
    assert "Till 4" in card.inner_text() and "Pay 20 EUR" in card.inner_text()
    phone.click(".approve")
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


def _login_url(server, web, callback) -> str:
    _, challenge = pkce_pair()
    params = web.params(
        redirect_uri=callback, code_challenge=challenge, code_challenge_method="S256"
    )
    return server.url + "/authorize?" + urlencode(params)


def _qr_on(server, page_path: str) -> str:
    """What the login page's QR image says right now (read in the server, as it renders it)."""
    from app.authorize.models import StoredAuthorization

    async def uri(services) -> str:
        async with services.db.session() as session:
            stored = await session.get(StoredAuthorization, page_path.rsplit("/", 1)[1])
        return services.qr.uri(await services.requests.get(stored.attempt_id))

    return server.call(uri)


def test_a_login_page_qr_opened_by_the_phone_camera_signs_in(admin, server, browser, phone):
    with Receiver.start() as receiver:
        callback = receiver.url + "/callback"
        web = WebClient.register(admin, redirect_uris=[callback])
        desktop = new_page(browser)
        desktop.goto(_login_url(server, web, callback))
        desktop.locator("#qr").wait_for()
        # The camera opens the code's https URL: the web authenticator claims it.
        phone.goto(_qr_on(server, desktop.url.removeprefix(server.url)))
        card = phone.locator(".request")
        card.wait_for()
        assert "Web shop" in card.inner_text()
        desktop.locator("text=Code scanned").wait_for()
        phone.click(".approve")
        desktop.wait_for_url(callback + "?*")
        assert "code=" in desktop.url


def test_a_login_page_push_is_approved_with_the_pages_number(admin, server, browser, phone):
    with Receiver.start() as receiver:
        callback = receiver.url + "/callback"
        web = WebClient.register(admin, redirect_uris=[callback])
        desktop = new_page(browser)
        desktop.goto(_login_url(server, web, callback))
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


def test_removing_the_phone_forgets_its_key(admin, user, phone):
    phone.click("#forget")
    phone.locator("text=This browser is not enrolled").wait_for()
    assert admin.get(f"/admin/users/{user['id']}/devices").json() == []
