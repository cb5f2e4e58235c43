"""Payments in the redirect flow: /par and /authorize carry authorization_details (RFC 9396
§3), the login page and the phone show them, the code's tokens carry them; a browser session
never stands in for the phone's approval of a payment."""

from __future__ import annotations

import json

import jwt

from tests.support.payments import payment, shown_hash
from tests.support.web import LoginPage, pkce_pair, returned


def _push(http, web, **params):
    body = web.params(**params)
    body.pop("client_id")
    return http.post("/par", data=body, auth=web.auth)


def _pay_with_phone(browser, web, http, phone, details):
    verifier, challenge = pkce_pair()
    pushed = _push(http, web, authorization_details=json.dumps(details),
                   code_challenge=challenge, code_challenge_method="S256")  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    page = browser.open_login(
        {"client_id": web.client_id, "request_uri": pushed.json()["request_uri"]}
    )
    shown_page = page.get().text
    assert "Pay 42.10 EUR to Corner Shop" in shown_page and "ref 8841" in shown_page
    assert page.ask("kim").status_code == 303
    (shown,) = phone.pending()
    assert shown["authorization_details"] == details
    decided = phone.device.decide(
        http, shown["id"], "approve", number_match=page.number(),
        authorization_details_hash=shown_hash(details),
    )  # fmt: skip
    assert decided.status_code == 200, decided.text
    values = returned(page.finish())
    return web.redeem(http, values["code"], code_verifier=verifier)


def test_a_pushed_payment_approved_on_the_phone_reaches_the_tokens(
    admin, http, browser, web, phone
):
    details = [payment()]
    redeemed = _pay_with_phone(browser, web, http, phone, details)
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["authorization_details"] == details
    claims = jwt.decode(redeemed.json()["access_token"], options={"verify_signature": False})
    assert claims["authorization_details"] == details


def test_a_signed_in_browser_still_needs_the_phone_for_a_payment(admin, http, browser, web, phone):
    assert _pay_with_phone(browser, web, http, phone, [payment()]).status_code == 200
    # The session cookie would let a plain sign-in through; a payment goes to the login page.
    again = browser.authorize(
        web.params(authorization_details=json.dumps([payment("1.00")]), prompt="none")
    )
    assert returned(again)["error"] == "login_required"
    page = browser.open_login(web.params(authorization_details=json.dumps([payment("1.00")])))
    assert isinstance(page, LoginPage)


def test_invalid_details_at_par_and_authorize(admin, http, browser, web):
    bad = json.dumps([{"type": "payment_initiation", "creditorName": "X"}])
    pushed = _push(http, web, authorization_details=bad)
    assert pushed.status_code == 400
    assert pushed.json()["error"] == "invalid_authorization_details"
    redirected = browser.authorize(web.params(authorization_details=bad))
    values = returned(redirected)
    assert values["error"] == "invalid_authorization_details"
    assert "instructedAmount" in values["error_description"]
