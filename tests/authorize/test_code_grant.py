"""The authorization_code grant at /token: single use (a replay revokes what the code issued),
bound to its client, redirect URI and PKCE verifier, short-lived."""

from __future__ import annotations

from tests.support.web import REDIRECT_URI, WebClient, log_in


def _introspect(http, web, token):
    return http.post("/introspect", data={"token": token}, auth=web.auth).json()


def test_a_replayed_code_fails_and_revokes_what_it_issued(http, browser, web, phone):
    values = log_in(browser, web, phone, "kim", scope="openid offline_access")
    first = web.redeem(http, values["code"], code_verifier=values["verifier"])
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert _introspect(http, web, tokens["access_token"])["active"] is True
    replay = web.redeem(http, values["code"], code_verifier=values["verifier"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    assert _introspect(http, web, tokens["access_token"]) == {"active": False}
    assert _introspect(http, web, tokens["refresh_token"]) == {"active": False}
    refreshed = http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=web.auth,
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_redirect_uri_verifier_and_client(admin, http, browser, web, phone):
    values = log_in(browser, web, phone, "kim")
    code, verifier = values["code"], values["verifier"]
    other = WebClient.register(admin)
    cases = [
        (other, {"code_verifier": verifier}, "unknown code"),
        (
            web,
            {"code_verifier": verifier, "redirect_uri": REDIRECT_URI + "x"},
            "redirect",
        ),
        (web, {"code_verifier": verifier, "redirect_uri": ""}, "redirect_uri"),
        (web, {}, "code_verifier is required"),
        (web, {"code_verifier": "w" * 43}, "does not match"),
        (web, {"code_verifier": "short"}, "malformed"),
    ]
    for client, extra, says in cases:
        response = client.redeem(http, code, **extra)
        assert response.status_code == 400, (extra, response.text)
        assert response.json()["error"] == "invalid_grant"
        assert says in response.json()["error_description"], (extra, response.json())
    # None of those used the code up.
    assert web.redeem(http, code, code_verifier=verifier).status_code == 200


def test_a_verifier_for_a_code_without_challenge_is_refused(http, browser, web, phone):
    page = browser.open_login(web.params())  # a confidential client may skip PKCE
    page.ask("kim")
    phone.answer("approve", number_match=page.number())
    code = page.finish().headers["location"].split("code=")[1].split("&")[0]
    sneaky = web.redeem(http, code, code_verifier="v" * 43)
    assert sneaky.json()["error"] == "invalid_grant"
    assert web.redeem(http, code).status_code == 200


def test_an_expired_code_and_bad_requests(http, server, browser, web, phone):
    values = log_in(browser, web, phone, "kim")
    server.expire_rows("authorization_codes")
    late = web.redeem(http, values["code"], code_verifier=values["verifier"])
    assert late.json() == {"error": "invalid_grant", "error_description": "the code has expired"}
    assert web.redeem(http, "no-such-code").json()["error"] == "invalid_grant"
    missing = http.post("/token", data={"grant_type": "authorization_code"}, auth=web.auth)
    assert missing.json()["error"] == "invalid_request"
    nobody = http.post("/token", data={"grant_type": "authorization_code", "code": "x"})
    assert nobody.status_code == 401 and nobody.json()["error"] == "invalid_client"


def test_a_disabled_user_cannot_redeem(admin, http, browser, web, phone):
    values = log_in(browser, web, phone, "kim")
    admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
    response = web.redeem(http, values["code"], code_verifier=values["verifier"])
    assert response.json()["error"] == "invalid_grant"


def test_two_racing_redemptions_give_one_token_response(http, browser, web, phone):
    import concurrent.futures

    values = log_in(browser, web, phone, "kim")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(web.redeem, http, values["code"], code_verifier=values["verifier"])
            for _ in range(2)
        ]
        statuses = sorted(f.result().status_code for f in futures)
    assert statuses == [200, 400]


def test_the_purge_keeps_a_used_code_an_hour_past_its_expiry(http, server, browser, web, phone):
    from datetime import timedelta

    from app.authorize.cleanup import purge_expired
    from app.storage.types import utcnow

    values = log_in(browser, web, phone, "kim")
    assert web.redeem(http, values["code"], code_verifier=values["verifier"]).status_code == 200
    server.expire_rows("authorization_codes")
    server.call(lambda s: purge_expired(s.db))
    replay = web.redeem(http, values["code"], code_verifier=values["verifier"])
    assert "already used" in replay.json()["error_description"]  # still known as used
    later = utcnow() + timedelta(hours=2)
    assert server.call(lambda s: purge_expired(s.db, later)) >= 1
    assert web.redeem(http, values["code"]).json()["error_description"] == "unknown code"
