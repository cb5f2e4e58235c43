"""When a browser session may stand in for the phone, and when it may not: another client or a
wider scope (the phone's approval is the consent), a removed device, a hint naming someone else,
POSTs that arrive without cookies; and how a login page ends when it cannot succeed."""

from __future__ import annotations

import pytest

from tests.support.ciba import Phone
from tests.support.web import REDIRECT_URI, WebClient, log_in, pkce_pair, returned, with_pkce


def _goes_to_login(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login/")


def test_a_session_serves_only_what_the_phone_approved(admin, browser, web, phone):
    log_in(browser, web, phone, "kim", scope="openid")
    assert "code" in returned(browser.authorize(with_pkce(web, scope="openid")))
    # A wider scope for the same client, or any scope for another client, asks the phone.
    assert _goes_to_login(browser.authorize(with_pkce(web, scope="openid email")))
    other = WebClient.register(admin, client_name="Other shop")
    assert _goes_to_login(browser.authorize(with_pkce(other, scope="openid")))
    values = returned(browser.authorize(with_pkce(other, scope="openid", prompt="none")))
    assert values["error"] == "consent_required"
    # Once approved on the phone, the other client is served too, and the first still is.
    log_in(browser, other, phone, "kim", scope="openid")
    assert "code" in returned(browser.authorize(with_pkce(other, scope="openid", prompt="none")))
    assert "code" in returned(browser.authorize(with_pkce(web, scope="openid", prompt="none")))


def test_a_session_ends_with_its_device(admin, browser, web, phone):
    log_in(browser, web, phone, "kim")
    assert "code" in returned(browser.authorize(with_pkce(web)))
    assert admin.delete(f"/admin/devices/{phone.device.device_id}").status_code == 204
    assert returned(browser.authorize(with_pkce(web, prompt="none")))["error"] == "login_required"


def test_a_hint_for_someone_else_is_not_the_session(admin, http, server, browser, web, phone):
    log_in(browser, web, phone, "kim")
    Phone.enroll(admin, http, server.url, "lee")
    assert "code" in returned(browser.authorize(with_pkce(web, login_hint="kim@example.com")))
    assert _goes_to_login(browser.authorize(with_pkce(web, login_hint="lee")))
    values = returned(browser.authorize(with_pkce(web, login_hint="lee", prompt="none")))
    assert values["error"] == "login_required"


def test_a_post_without_cookies_becomes_a_get_and_with_them_is_served(browser, web, phone):
    params = with_pkce(web)
    first = browser.http.post("/authorize", data=params)
    assert first.status_code == 303 and first.headers["location"].startswith("/authorize?")
    assert "set-cookie" not in first.headers  # nothing overwritten by a cookie-less POST
    assert _goes_to_login(browser.http.get(first.headers["location"]))
    log_in(browser, web, phone, "kim")
    again = browser.http.post("/authorize", data=with_pkce(web, prompt="none"))
    assert "code" in returned(again)  # the cookies came along: answered from the session


def test_cancel_returns_access_denied_to_the_client(browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    values = returned(page.post("cancel"))
    assert values["error"] == "access_denied" and values["state"]
    assert phone.pending() == []  # the phone's request is withdrawn
    assert page.get().status_code == 400  # the page is used up


def test_a_user_disabled_before_continue_is_access_denied(admin, browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    phone.answer("approve", number_match=page.number())
    csrf = page.csrf()
    admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
    values = returned(page.post("continue", csrf=csrf))
    assert values["error"] == "access_denied"


def test_a_retry_after_an_approval_keeps_the_approval(browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    csrf = page.csrf()
    phone.answer("approve", number_match=page.number())
    # The user clicked "another account" just as the phone approved: the approval wins.
    assert page.post("retry", csrf=csrf).headers["location"] == page.path
    assert "code" in returned(page.post("continue", csrf=csrf))


def test_native_apps_on_loopback_may_use_any_port(admin, browser, http, phone):
    app = WebClient.register(
        admin, token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1/cb"]
    )
    verifier, challenge = pkce_pair()
    uri = "http://127.0.0.1:53123/cb"
    params = app.params(redirect_uri=uri, code_challenge=challenge, code_challenge_method="S256")
    page = browser.open_login(params)
    page.ask("kim")
    phone.answer("approve", number_match=page.number())
    location = page.finish().headers["location"]
    assert location.startswith(uri + "?code=")
    code = location.split("code=")[1].split("&")[0]
    redeemed = app.redeem(http, code, code_verifier=verifier, redirect_uri=uri)
    assert redeemed.status_code == 200, redeemed.text
    for other in ("http://127.0.0.1:53123/other", "http://localhost:53123/cb"):
        assert browser.authorize({**params, "redirect_uri": other}).status_code == 400


def test_a_public_client_cannot_redeem_a_code_issued_withoutwith_pkce(admin, http, browser, phone):
    web = WebClient.register(admin)
    page = browser.open_login(web.params())  # confidential: PKCE optional
    page.ask("kim")
    phone.answer("approve", number_match=page.number())
    code = returned(page.finish())["code"]
    admin.patch(f"/admin/clients/{web.client_id}", json={"token_endpoint_auth_method": "none"})
    response = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": web.client_id,
        },
    )
    assert response.json()["error"] == "invalid_grant"


def test_a_client_with_ciba_user_codes_still_logs_in_on_the_page(admin, browser, phone):
    web = WebClient.register(admin, backchannel_user_code_parameter=True)
    assert log_in(browser, web, phone, "kim")["code"]


def test_login_pages_do_not_spend_the_clients_ciba_budget(server, browser, web, phone):
    from app.ciba.limits import count_start
    from app.errors import TooManyRequests
    from app.storage.types import utcnow

    for _ in range(3):
        assert 'id="qr"' in browser.open_login(with_pkce(web)).get().text
    one = server.settings.model_copy(update={"rate_limit_per_client": 1})

    async def start_one(services):
        async def unit(tx):
            await count_start(tx, one, web.client_id, None, utcnow())

        await services.db.sql.write(unit)

    server.call(start_one)  # three pages spent none of the budget of one
    with pytest.raises(TooManyRequests):
        server.call(start_one)


def test_a_page_stored_by_another_version_reads_back_or_is_gone(server, browser, web):
    from sqlalchemy import update

    from app.authorize.models import StoredAuthorization

    page = browser.open_login(with_pkce(web))

    async def reshape(services, params_change) -> None:
        async with services.db.session() as session:
            row = await session.get(StoredAuthorization, page.path.rsplit("/", 1)[1])
            params = {**row.params, **params_change}
            params = {k: v for k, v in params.items() if v is not None}
            await session.exec(
                update(StoredAuthorization)
                .where(StoredAuthorization.id == row.id)
                .values(params=params)
            )
            await session.commit()

    server.call(lambda s: reshape(s, {"ui_locales": "fr"}))  # a member this version lacks
    assert page.get().status_code == 200
    server.call(lambda s: reshape(s, {"redirect_uri": None}))  # one it needs, missing
    assert page.get().status_code == 400
