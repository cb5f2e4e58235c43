"""The demo as a new user plays it, in a real headless Chromium: the landing page enrolls the web
authenticator in one browser context (a phone, 390 px wide), and the agent console, the till and
the demo shop sign Dana in from another (a desktop), approved on that phone.

``BACKCHANNEL_SCREENSHOTS=docs/screenshots`` (``make screenshots``) keeps the screenshots for
the README; otherwise they go to a temporary folder. Each is taken once the page shows what it
is meant to show, and no page may be wider than its viewport."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import ADMIN_TOKEN, _new_database, make_settings
from tests.support.live import LiveServer

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[LiveServer]:
    url, drop = _new_database(tmp_path_factory.mktemp("demo"))
    # Every test here asks Dana: more than the per-user push budget allows in ten minutes.
    settings = lambda issuer: make_settings(  # noqa: E731
        url, issuer=issuer, demo=True, rate_limit_per_user=100
    )
    with LiveServer.start(settings) as server:
        yield server
    drop()


def _page(browser: Browser, viewport: dict[str, int]) -> Page:
    page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _shot(page: Page, folder: Path, name: str) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{name}: the page is wider than its {page.viewport_size} viewport"
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


@pytest.fixture
def phone(demo, browser, shots) -> Page:
    """The web authenticator, enrolled from the landing page's link in a context of its own."""
    landing = _page(browser, DESKTOP)
    landing.goto(demo.url + "/")
    link = landing.locator("#enrollment-link").get_attribute("href")
    assert link and link.startswith(demo.url + "/authenticator#enrollment_code=")
    _shot(landing, shots, "landing")
    landing.context.close()
    page = _page(browser, PHONE)
    page.goto(link)
    page.locator("text=This phone is enrolled.").wait_for()
    return page


@pytest.fixture
def desktop(browser) -> Page:
    return _page(browser, DESKTOP)


def _agent_starts(desktop: Page, demo: LiveServer, mode: str) -> None:
    desktop.goto(demo.url + "/demo/agent")
    assert desktop.input_value("#binding").startswith("Call ref ")
    desktop.check(f"input[name=mode][value={mode}]")
    desktop.click("#start")
    desktop.locator("#state", has_text="Pending").wait_for()


@pytest.mark.parametrize("mode", ["poll", "ping", "push"])
def test_the_agent_console_shows_the_verified_customer(demo, phone, desktop, shots, mode):
    _agent_starts(desktop, demo, mode)
    card = phone.locator(".request")
    card.wait_for()
    code = desktop.input_value("#binding")
    assert code in card.inner_text()  # the agent reads it aloud; the customer sees it
    # Scopes in the login page's words, and the time left, ticking.
    assert "your name and profile, your email address" in card.inner_text()
    assert re.search(r"Expires in \d:\d\d", card.inner_text())
    if mode == "poll":
        _shot(phone, shots, "authenticator")
    phone.click(".approve")
    phone.locator("#message.ok", has_text="Approved.").wait_for()  # success, styled as one
    phone.locator("#empty", has_text="Nothing to approve.").wait_for()
    desktop.locator("#state", has_text="Approved").wait_for(timeout=20_000)
    assert "Verified: Dana Demo" in desktop.inner_text("#status")
    identity = desktop.inner_text("#identity")
    assert "dana@example.com" in identity and "+441632960000" in identity
    assert not desktop.locator("details pre").is_visible()  # the raw response is folded away
    if mode == "poll":
        _shot(desktop, shots, "agent-console")


def test_the_agent_console_asks_for_a_payment_and_shows_what_was_approved(
    demo, phone, desktop, shots
):
    desktop.goto(demo.url + "/demo/agent")
    code = desktop.input_value("#binding").removeprefix("Call ref ")
    desktop.fill("#pay-amount", "19,9")
    desktop.fill("#payee", "Riverside Bakery")
    desktop.check("input[name=mode][value=poll]")
    desktop.click("#start")
    desktop.locator("#state", has_text="Pending").wait_for()
    words = f"Pay 19.90 EUR to Riverside Bakery, ref {code}"
    assert desktop.inner_text("#payment") == "Asking: " + words
    phone.locator(".request .payment-lines", has_text=words).wait_for()
    phone.click(".approve")
    desktop.locator("#state", has_text="Approved").wait_for(timeout=20_000)
    assert desktop.inner_text("#payment") == "Approved: " + words  # from the token response
    _shot(desktop, shots, "agent-console-payment")


def test_the_agent_console_refuses_a_payment_without_an_amount(demo, desktop):
    desktop.goto(demo.url + "/demo/agent")
    desktop.fill("#payee", "Riverside Bakery")
    desktop.click("#start")
    assert desktop.evaluate("document.getElementById('pay-amount').validationMessage")
    assert desktop.locator("#status").is_hidden()  # nothing was asked


def test_a_denial_is_said_plainly_on_the_console(demo, phone, desktop):
    _agent_starts(desktop, demo, "push")
    phone.locator(".request").wait_for()
    phone.click(".deny")
    desktop.locator("#state", has_text="Denied").wait_for(timeout=20_000)
    assert "said no on their phone" in desktop.inner_text("#status")


def test_a_customer_without_an_authenticator_is_told_at_once(demo, desktop):
    with httpx.Client(base_url=demo.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as a:
        assert a.post("/admin/users", json={"username": "newcomer"}).status_code in (201, 409)
    desktop.goto(demo.url + "/demo/agent")
    desktop.fill("#customer", "newcomer")
    desktop.click("#start")
    desktop.locator("#state", has_text="Not started").wait_for()
    assert "no authenticator enrolled" in desktop.inner_text("#status")
    desktop.fill("#customer", "nobody-at-all")
    desktop.click("#start")
    desktop.locator("text=No customer matches what you typed.").wait_for()


def test_the_till_is_paid_by_scanning_its_qr_with_the_phone(demo, phone, shots, browser):
    till = _page(browser, DESKTOP)
    till.goto(demo.url + "/demo/terminal")
    till.fill("#amount", "42.1")
    till.click("#pay")
    till.locator("#qr").wait_for()
    # Drawn, not broken. A function, not an expression: polling an expression evals it in the
    # page, which the page's CSP (no unsafe-eval) refuses whenever the image is not drawn yet.
    till.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    # The sale is sent as a payment (RFC 9396) and the till says which, with a fresh reference.
    asked = re.fullmatch(
        r"Pay 42\.10 EUR to Corner Shop \(DE02100100109307118603\), ref [A-Z2-9]{6}",
        till.inner_text("#payment"),
    )
    assert asked, till.inner_text("#payment")
    _shot(till, shots, "till")
    uri = parse_qs(urlsplit(till.locator("#qr").get_attribute("src") or "").query)["uri"][0]
    phone.goto(uri)  # what the phone's camera opens
    phone.click("#confirm-button")
    till.locator("text=Scanned — approve on your phone.").wait_for()
    # The phone shows the payment in plain words before Approve, and signs what it showed.
    assert asked.group(0) in phone.locator(".request .payment-lines").inner_text()
    phone.click(".approve")
    till.locator("text=Paid 42.10 EUR to Corner Shop. Thank you, Dana Demo.").wait_for()
    # What the token response says was approved, not what the till remembers asking.
    assert till.inner_text("#payment") == "Approved: " + asked.group(0)
    assert '"authorization_details"' in till.locator("details pre").text_content()


def test_the_till_takes_a_typed_phone_number_on_a_phone_sized_screen(demo, phone, browser, shots):
    till = _page(browser, PHONE)
    till.goto(demo.url + "/demo/terminal")
    till.fill("#amount", "3.20")
    till.click("#pay")
    till.fill("#phone-number", "+44 1632 960000")
    till.click("#send-hint")
    till.locator("text=Approve the payment on your phone.").wait_for()
    phone.locator(
        ".request", has_text="Pay 3.20 EUR to Corner Shop (DE02100100109307118603), ref "
    ).wait_for()
    phone.click(".approve")
    till.locator("text=Paid 3.20 EUR to Corner Shop. Thank you, Dana Demo.").wait_for()
    assert till.inner_text("#payment").startswith(
        "Approved: Pay 3.20 EUR to Corner Shop (DE02100100109307118603), ref "
    )
    _shot(till, shots, "till-phone")


def test_the_demo_shop_signs_in_through_the_login_page(demo, phone, desktop, shots):
    desktop.goto(demo.url + "/demo/shop")
    desktop.click("#sign-in")
    desktop.fill("#username", "demo")
    desktop.click("#send")
    number = desktop.locator("#number").inner_text()
    phone.locator(".request .number").fill(number)
    phone.click(".approve")
    desktop.locator("text=Signed in as Dana Demo.").wait_for()
    assert "code=" not in desktop.url
    _shot(desktop, shots, "shop")


def test_the_landing_page_on_a_phone(demo, browser, shots):
    page = _page(browser, PHONE)
    page.goto(demo.url + "/")
    for link in ("#enrollment-link", "#agent-link", "#till-link", "#shop-link"):
        assert page.locator(link).is_visible()
    _shot(page, shots, "landing-phone")
