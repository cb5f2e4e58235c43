"""Pushed authorization requests (RFC 9126) over HTTP: push, then /authorize names the pushed
request by its single-use request_uri; clients can be made to use PAR."""

from __future__ import annotations

from tests.support.web import REDIRECT_URI, WebClient, pkce_pair, returned


def _push(http, web, **params):
    body = web.params(**params)
    body.pop("client_id")
    return http.post("/par", data=body, auth=web.auth)


def test_a_pushed_request_opens_the_login_once(admin, http, browser):
    web = WebClient.register(admin)
    pushed = _push(http, web, state="from-par", prompt="none")
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["cache-control"] == "no-store"
    body = pushed.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 60
    use = {"client_id": web.client_id, "request_uri": body["request_uri"]}
    # Parameters beside request_uri are ignored: the pushed ones stand (RFC 9126 §4).
    first = browser.authorize({**use, "state": "ignored", "prompt": "login"})
    values = returned(first)
    assert values == {"error": "login_required", "error_description": values["error_description"],
                      "state": "from-par", "iss": values["iss"]}  # fmt: skip
    again = browser.authorize(use)
    assert again.status_code == 400 and "used already" in again.text


def test_a_request_uri_belongs_to_its_client(admin, http, browser):
    web = WebClient.register(admin)
    other = WebClient.register(admin)
    request_uri = _push(http, web).json()["request_uri"]
    stolen = browser.authorize({"client_id": other.client_id, "request_uri": request_uri})
    assert stolen.status_code == 400 and "location" not in stolen.headers
    # The failed try did not use it up for its owner.
    mine = browser.authorize({"client_id": web.client_id, "request_uri": request_uri})
    assert mine.status_code == 303 and mine.headers["location"].startswith("/login/")


def test_par_checks_like_authorize_and_answers_in_json(admin, http):
    web = WebClient.register(admin)
    cases = [
        ({"redirect_uri": "http://127.0.0.1:9999/elsewhere"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ]
    for change, error in cases:
        response = _push(http, web, **change)
        assert response.status_code == 400, (change, response.text)
        assert response.json()["error"] == error
    body = web.params()
    body.pop("client_id")
    unauthenticated = http.post("/par", data=body)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "invalid_client"
    wrong = http.post("/par", data=body, auth=(web.client_id, "not-the-secret"))
    assert wrong.status_code == 401


def test_a_public_client_pushes_with_its_client_id(admin, http, browser):
    public = WebClient.register(admin, token_endpoint_auth_method="none")
    _, challenge = pkce_pair()
    body = public.params(code_challenge=challenge, code_challenge_method="S256")
    pushed = http.post("/par", data=body)
    assert pushed.status_code == 201, pushed.text
    use = {"client_id": public.client_id, "request_uri": pushed.json()["request_uri"]}
    assert browser.authorize(use).headers["location"].startswith("/login/")


def test_a_client_can_be_required_to_push(admin, http, browser):
    strict = WebClient.register(admin, require_pushed_authorization_requests=True)
    values = returned(browser.authorize(strict.params()))
    assert values["error"] == "invalid_request" and "/par" in values["error_description"]
    request_uri = _push(http, strict).json()["request_uri"]
    use = {"client_id": strict.client_id, "request_uri": request_uri}
    assert browser.authorize(use).headers["location"].startswith("/login/")
    assert REDIRECT_URI  # the pushed redirect_uri is the registered one


def test_an_expired_request_uri_is_refused(admin, http, server, browser):
    web = WebClient.register(admin)
    request_uri = _push(http, web).json()["request_uri"]
    server.expire_rows("authorization_requests")
    late = browser.authorize({"client_id": web.client_id, "request_uri": request_uri})
    assert late.status_code == 400 and "expired" in late.text
