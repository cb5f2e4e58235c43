"""What anonymous browsers may do on login pages is limited per browser, per network address and
per page — budgets of their own, apart from the limits authenticated clients rely on (issue 16,
findings 2 and 10)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.decoupled.models import AuthRequest
from tests.support.ciba import CibaClient
from tests.support.web import Browser, with_pkce


@pytest.fixture
def browsers(server):
    opened: list[Browser] = []

    def new() -> Browser:
        opened.append(Browser(server.url))
        return opened[-1]

    yield new
    for browser in opened:
        browser.close()


def _requests_in_table(server) -> int:
    async def count(services) -> int:
        async with services.db.session() as session:
            return int((await session.exec(select(func.count()).select_from(AuthRequest))).one())

    return int(server.call(count))


def _assert_limited(response, longest: int) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= longest
    assert "Too many sign-in attempts" in response.text


def test_strangers_typing_a_name_on_login_pages_do_not_lock_the_user_out_of_ciba(
    admin, http, server, web, phone, browsers
):
    for _ in range(8):  # eight anonymous browsers, each typing the customer's name
        browsers().open_login(with_pkce(web)).ask("kim")
    call_centre = CibaClient.register(admin, http)
    response = call_centre.authorize(login_hint="kim")
    assert response.status_code == 200, response.text


def test_one_page_may_start_only_so_many_tries(server, web, browsers):
    page = browsers().open_login(with_pkce(web))
    assert 'id="qr"' in page.get().text  # its first try: the QR code
    before = _requests_in_table(server)
    cap = server.settings.login_page_max_tries
    answers = [page.post("retry") for _ in range(cap + 5)]
    assert [a.status_code for a in answers[: cap - 1]] == [303] * (cap - 1)
    for refused in answers[cap - 1 :]:  # the page's budget lasts as long as the page
        _assert_limited(refused, server.settings.login_page_lifetime)
    assert "on this page" in answers[-1].text
    assert _requests_in_table(server) - before == cap - 1


def test_one_browser_has_a_budget_across_its_pages(server, web, browsers):
    browser = browsers()
    budget = server.settings.rate_limit_login_per_browser
    spent, refused = 0, None
    while refused is None:
        page = browser.open_login(with_pkce(web))
        if page.get().status_code == 429:  # the first try of a page is its QR code
            refused = page.get()
            break
        spent += 1
        for _ in range(4):
            answer = page.post("retry")
            if answer.status_code == 429:
                refused = answer
                break
            spent += 1
    assert spent == budget
    _assert_limited(refused, server.settings.rate_limit_window_seconds)
    assert "from this browser" in refused.text
    # Another browser at the same address still has its own budget.
    other = browsers().open_login(with_pkce(web))
    assert 'id="qr"' in other.get().text


def test_one_address_has_a_budget_across_browsers(server, web, browsers):
    budget = server.settings.rate_limit_login_per_address
    for _ in range(budget):
        assert browsers().open_login(with_pkce(web)).get().status_code == 200
    refused = browsers().open_login(with_pkce(web)).get()
    _assert_limited(refused, server.settings.rate_limit_window_seconds)
    assert "from your network" in refused.text
    assert 'id="qr"' not in refused.text  # no try started: no code to scan
