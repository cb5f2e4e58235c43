"""The web authenticator that rings, in a real headless Chromium on a phone-sized screen: it
enrolls from the landing page, turns notifications on, and when the agent console starts a
login the server's Web Push reaches the local push-service stand-in, which checks and decrypts
it; the test hands the decrypted message to the page's service worker (Chromium's DevTools
``ServiceWorker.deliverPushMessage``, what the browser does with a push it received), which
shows the notification and tells the page; the phone approves and the console shows the user.

A real subscription needs Google's push service, out of reach offline: the page's
``PushManager.subscribe`` is replaced (before any script runs) by one that answers a
subscription whose endpoint is the stand-in and whose keys the test holds. Everything else —
the service worker, the permission, the page's subscribe path and the server — is real."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import _new_database, make_settings
from tests.demo.test_demo_in_chromium import DESKTOP, PHONE, _agent_starts, _page, _shot
from tests.support.live import LiveServer
from tests.support.waiting import wait_for
from tests.support.webpush import PushServiceStandIn, Subscriber

# The browser's PushManager, answering the subscription the test made; it notes the
# applicationServerKey the page subscribed with, so the test can compare it with the server's.
FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  let current = null;
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  PushManager.prototype.subscribe = async function (options) {
    window.subscribedWithKey = b64(options.applicationServerKey);
    current = {endpoint: subscription.endpoint, options: options, toJSON: () => subscription,
               unsubscribe: async () => { current = null; return true; }};
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[LiveServer]:
    url, drop = _new_database(tmp_path_factory.mktemp("webpush-demo"))
    settings = lambda issuer: make_settings(url, issuer=issuer, demo=True)  # noqa: E731
    with LiveServer.start(settings) as server:
        yield server
    drop()


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushServiceStandIn]:
    with PushServiceStandIn.start() as stand_in:
        yield stand_in


def ringing_phone(browser: Browser, demo: LiveServer, subscriber: Subscriber) -> Page:
    """The authenticator enrolled from the landing page's link, its notifications turned on."""
    landing = _page(browser, DESKTOP)
    landing.goto(demo.url + "/")
    link = landing.locator("#enrollment-link").get_attribute("href")
    landing.context.close()
    assert link
    phone = _page(browser, PHONE)
    phone.context.grant_permissions(["notifications"], origin=demo.url)
    phone.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscriber.subscription()))
    phone.goto(link)
    phone.locator("text=This phone is enrolled.").wait_for()
    phone.locator("#account", has_text="Enrolled for Dana Demo (demo).").wait_for()
    phone.locator("#ring-state", has_text="Turn on notifications").wait_for()
    phone.click("#ring-button")
    phone.locator("#ring-button").wait_for(state="hidden")
    assert phone.inner_text("#ring-state") == "This phone rings when a sign-in request arrives."
    assert "this phone rings" in phone.inner_text("#empty")
    return phone


def deliver_to_service_worker(phone: Page, origin: str, message: dict[str, object]) -> None:
    """What Chromium does with a push its push service delivered: a push event in the worker."""
    cdp = phone.context.new_cdp_session(phone)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(
            r["registrationId"] for r in event["registrations"] if not r["isDeleted"]
        ),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # Playwright hands events over only while it is called: let it run
        if registrations:
            break
        phone.wait_for_timeout(100)
    assert registrations, "the page registered its service worker"
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registrations[-1], "data": json.dumps(message)},
    )


def test_the_authenticator_rings_with_web_push_and_the_console_shows_the_user(
    demo, browser, push_service, shots
):
    push_service.vapid_public_key = None
    subscriber = push_service.subscribe()
    phone = ringing_phone(browser, demo, subscriber)
    served = phone.evaluate("window.subscribedWithKey")
    push_service.vapid_public_key = served  # pushes must be signed by the key the page used
    _shot(phone, shots, "authenticator-ringing")

    desktop = _page(browser, DESKTOP)
    _agent_starts(desktop, demo, "poll")
    wait_for(lambda: push_service.received)
    push = push_service.received[-1]
    assert push.problem is None, push.problem
    assert push.message and set(push.message) == {"type", "request_id", "title", "body"}

    deliver_to_service_worker(phone, demo.url, push.message)
    phone.locator("#message.info", has_text="A sign-in request arrived.").wait_for()
    notifications = phone.evaluate(
        "navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(all => all.map(n => [n.title, n.body, n.tag]))"
    )
    assert notifications == [
        [
            "Sign-in request",
            "Open the app to review a sign-in request.",
            f"request-{push.message['request_id']}",
        ]
    ]
    card = phone.locator(f"#request-{push.message['request_id']}")
    assert desktop.input_value("#binding") in card.inner_text()
    _shot(phone, shots, "authenticator-rang")
    card.locator(".approve").click()
    phone.locator("#message.ok", has_text="Approved.").wait_for()
    desktop.locator("#state", has_text="Approved").wait_for(timeout=20_000)
    assert "Verified: Dana Demo" in desktop.inner_text("#status")
    phone.set_viewport_size(DESKTOP)
    _shot(phone, shots, "authenticator-desktop")


def test_a_phone_that_does_not_allow_notifications_is_told_and_still_lists_requests(
    demo, browser, push_service
):
    """The browser's permission prompt is out of reach headless: its answer, "Block", is given
    by replacing ``Notification.requestPermission``; the page must say so and not subscribe."""
    landing = _page(browser, DESKTOP)
    landing.goto(demo.url + "/")
    link = landing.locator("#enrollment-link").get_attribute("href")
    landing.context.close()
    phone = _page(browser, PHONE)
    phone.context.add_init_script(
        FAKE_PUSH_MANAGER % json.dumps(push_service.subscribe().subscription())
        + "Notification.requestPermission = async () => 'denied';"
    )
    phone.goto(link or "")
    phone.locator("text=This phone is enrolled.").wait_for()
    phone.click("#ring-button")
    phone.locator("#ring-state", has_text="Notifications were not allowed").wait_for()
    assert phone.evaluate("window.subscribedWithKey") is None  # it did not subscribe
    assert "keep this page open" in phone.inner_text("#empty")
