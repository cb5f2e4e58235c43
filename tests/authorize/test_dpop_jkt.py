"""DPoP binding of the authorization code (RFC 9449 §10): by ``dpop_jkt`` on the authorization
request, or by a DPoP proof sent to /par. Only a token request with a proof by that key redeems
the code; a try with another key (or none) is refused without using the code up."""

from __future__ import annotations

import jwt

from tests.support.payments import DpopKey
from tests.support.web import LoginPage, log_in, pkce_pair, returned


def _redeem(http, server, web, values, key=None):
    headers = {"DPoP": key.proof("POST", server.url + "/token")} if key else {}
    return web.redeem(http, values["code"], headers=headers, code_verifier=values["verifier"])


def _assert_only_the_bound_key_redeems(http, server, web, values, key):
    for other in (None, DpopKey()):
        refused = _redeem(http, server, web, values, other)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_grant"
        assert "dpop_jkt" in refused.json()["error_description"]
    tokens = _redeem(http, server, web, values, key)  # the refusals did not use the code up
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "DPoP"
    claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}


def test_a_code_bound_by_dpop_jkt_is_redeemed_only_with_that_key(browser, web, phone, http, server):
    key = DpopKey()
    values = log_in(browser, web, phone, "kim", dpop_jkt=key.jkt)
    _assert_only_the_bound_key_redeems(http, server, web, values, key)


def test_a_malformed_dpop_jkt_is_refused_to_the_client(browser, web):
    for bad in ("short", "x" * 44, "+" * 43):
        values = returned(browser.authorize(web.params(dpop_jkt=bad)))
        assert values["error"] == "invalid_request", bad
        assert "dpop_jkt" in values["error_description"]


def _push(http, web, headers=None, **params):
    body = web.params(**params)
    body.pop("client_id")
    return http.post("/par", data=body, auth=web.auth, headers=headers or {})


def _log_in_pushed(browser, web, phone, request_uri, verifier):
    opened = browser.authorize({"client_id": web.client_id, "request_uri": request_uri})
    assert opened.status_code == 303, opened.text
    page = LoginPage(browser, opened.headers["location"])
    assert page.ask("kim").status_code == 303
    phone.answer("approve", number_match=page.number())
    return {**returned(page.finish()), "verifier": verifier}


def test_a_proof_sent_to_par_binds_the_code_to_its_key(browser, web, phone, http, server):
    key = DpopKey()
    verifier, challenge = pkce_pair()
    pushed = _push(
        http, web, {"DPoP": key.proof("POST", server.url + "/par")},
        code_challenge=challenge, code_challenge_method="S256",
    )  # fmt: skip
    assert pushed.status_code == 201, pushed.text
    values = _log_in_pushed(browser, web, phone, pushed.json()["request_uri"], verifier)
    _assert_only_the_bound_key_redeems(http, server, web, values, key)


def test_par_refuses_a_proof_that_is_not_for_it_or_not_by_the_dpop_jkt_key(web, http, server):
    key = DpopKey()
    par = server.url + "/par"
    cases = {
        "another key than dpop_jkt": ({"DPoP": DpopKey().proof("POST", par)}, key.jkt),
        "a proof for /token": ({"DPoP": key.proof("POST", server.url + "/token")}, None),
        "not a JWT": ({"DPoP": "nonsense"}, None),
    }
    for what, (headers, jkt) in cases.items():
        refused = _push(http, web, headers, dpop_jkt=jkt)
        assert refused.status_code == 400, (what, refused.text)
        assert refused.json()["error"] == "invalid_dpop_proof", what
    same = _push(http, web, {"DPoP": key.proof("POST", par)}, dpop_jkt=key.jkt)
    assert same.status_code == 201, same.text
