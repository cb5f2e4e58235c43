"""What the redirect-flow tests share: a browser, a registered web client, a user with a phone."""

from __future__ import annotations

import pytest

from tests.support.ciba import Phone
from tests.support.web import Browser, WebClient


@pytest.fixture
def browser(server):
    browser = Browser(server.url)
    yield browser
    browser.close()


@pytest.fixture
def web(admin):
    return WebClient.register(admin)


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(
        admin,
        http,
        server.url,
        "kim",
        email="kim@example.com",
        name="Kim Lee",
        phone_number="+15551234567",
    )
