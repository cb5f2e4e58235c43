"""A scanned code is claimed only when the phone's user confirms, after seeing who asks and
where the sign-in comes from (issue 16, finding 8). The web authenticator's side is tested in
Chromium in tests/devices/test_web_authenticator.py."""

from __future__ import annotations

from tests.support.web import current_qr, with_pkce


def test_a_preview_shows_the_client_and_the_browsers_network_and_claims_nothing(
    http, server, browser, web, phone
):
    page = browser.open_login(with_pkce(web))
    assert 'id="qr"' in page.get().text
    body = {"qr_uri": current_qr(server, page.path)}
    preview = http.post("/devices/me/scan/preview", json=body, headers=phone.device.auth())
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["client_name"] == "Web shop"
    assert shown["origin"] == {"network": "127.0.0.0/24"}
    assert "Code scanned" not in page.get().text  # not claimed: the page still waits
    claimed = http.post("/devices/me/scan", json=body, headers=phone.device.auth())
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["origin"] == {"network": "127.0.0.0/24"}
    assert "Code scanned" in page.get().text


def test_a_push_from_a_login_page_shows_where_it_comes_from(browser, web, phone):
    page = browser.open_login(with_pkce(web))
    page.ask("kim")
    (shown,) = phone.pending()
    assert shown["origin"] == {"network": "127.0.0.0/24"}
