"""The login page tells nobody who has an account: a user with a phone, one without, an
inactive one, an unknown name and a user whose phone had too many requests all get the same
wait for the phone (issue 16, finding 7)."""

from __future__ import annotations

import json
import re

import httpx

from tests.support.ciba import CibaClient
from tests.support.web import Browser, with_pkce


def _normalized(html: str) -> str:
    """The page with what differs on every render (nonce, CSRF token, page id, the number)
    blanked out."""
    html = re.sub(r'nonce="[^"]+"|nonce-[A-Za-z0-9_-]+', "nonce", html)
    html = re.sub(r'name="csrf" value="[^"]+"', "csrf", html)
    html = re.sub(r"/login/[A-Za-z0-9_-]+", "/login/PAGE", html)
    return re.sub(r'id="number">\d+<', 'id="number">N<', html)


def _first_status(browser, page) -> str:
    with browser.http.stream("GET", page.path + "/events", timeout=5) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                return str(json.loads(line[5:])["status"])
    raise AssertionError("no status event")


def _ask_as_a_stranger(server, web, name: str) -> tuple[httpx.Response, str, str]:
    browser = Browser(server.url)
    try:
        page = browser.open_login(with_pkce(web))
        asked = page.ask(name)
        return asked, _normalized(page.get().text), _first_status(browser, page)
    finally:
        browser.close()


def test_every_name_gets_the_same_wait_for_the_phone(admin, http, server, web, phone):
    admin.post("/admin/users", json={"username": "newbie"})  # no phone
    admin.post("/admin/users", json={"username": "gone", "active": False})
    busy = CibaClient.register(admin, http)
    answers = {"kim": _ask_as_a_stranger(server, web, "kim")}
    for _ in range(server.settings.rate_limit_per_user - 1):  # kim's phone: at its cap now
        busy.start(login_hint="kim")
    for name in ("kim", "newbie", "gone", "nobody", "kim@example.com"):
        answers.setdefault(name, _ask_as_a_stranger(server, web, name))
    answers["kim (capped)"] = _ask_as_a_stranger(server, web, "kim")
    reference = answers["kim"]
    assert reference[0].status_code == 303
    assert "We sent a request to your phone" in reference[1] and reference[2] == "phone"
    for name, (asked, page, status) in answers.items():
        assert asked.status_code == 303, (name, asked.text)
        assert asked.headers["location"].startswith("/login/"), name  # back to its page
        assert page == reference[1], name
        assert status == "phone", name
    # Only the first ask for kim reached a phone; the capped one was a decoy.
    assert len(phone.pending()) == server.settings.rate_limit_per_user
