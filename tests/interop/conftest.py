"""A live server of the interop tests' own: CIBA polls every second (client libraries wait the
whole `interval` before each poll), on a database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import _new_database, api_clients, make_settings
from tests.interop.driver import node_modules
from tests.support.ciba import Phone
from tests.support.live import LiveServer
from tests.support.web import Browser


@pytest.fixture(scope="session")
def interop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    node_modules()  # fail at once, and clearly, when node or the packages are missing
    url, drop = _new_database(tmp_path_factory.mktemp("interop"))

    def settings(issuer: str) -> Any:
        return make_settings(url, issuer=issuer, ciba_poll_interval=1)

    with LiveServer.start(settings) as server:
        yield server
    drop()


@pytest.fixture
def apis(interop_server: LiveServer) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with api_clients(interop_server.url) as clients:
        yield clients


@pytest.fixture
def phone(apis: tuple[httpx.Client, httpx.Client], interop_server: LiveServer) -> Phone:
    admin, http = apis
    return Phone.enroll(admin, http, interop_server.url, "u" + uuid.uuid4().hex[:10])


@pytest.fixture
def browser(interop_server: LiveServer) -> Iterator[Browser]:
    browser = Browser(interop_server.url)
    yield browser
    browser.close()
