"""FAPI 2.0 Security Profile on the redirect flow: PAR + PKCE S256 + private_key_jwt + DPoP works
end to end, with ``iss`` in the response and a code living at most 60 seconds even where the
server's setting allows longer; each broken rule is refused with its OAuth error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.authorize.models import AuthorizationCode
from tests.conftest import _new_database, api_clients, make_settings
from tests.support.ciba import Phone
from tests.support.clients import JWT_BEARER, ClientKey, register
from tests.support.fapi import fapi2_metadata
from tests.support.live import LiveServer
from tests.support.payments import DpopKey
from tests.support.web import REDIRECT_URI, Browser, LoginPage, pkce_pair, returned


@pytest.fixture(scope="module")
def long_codes(tmp_path_factory) -> Iterator[LiveServer]:
    """A server whose setting lets codes live 300 s: the profile must still cap them at 60."""
    url, drop = _new_database(tmp_path_factory.mktemp("fapi2"))
    settings = lambda issuer: make_settings(url, issuer=issuer, authorization_code_lifetime=300)  # noqa: E731
    with LiveServer.start(settings) as server:
        yield server
    drop()


@pytest.fixture
def site(long_codes):
    with api_clients(long_codes.url) as (admin, http):
        yield long_codes, admin, http


@pytest.fixture
def key():
    return ClientKey("ES256")


def _auth(key: ClientKey, client_id: str, issuer: str) -> dict[str, str]:
    return {
        "client_assertion_type": JWT_BEARER,
        "client_assertion": key.assertion(client_id, issuer),
    }


def _push(http, key, client_id, issuer, **params):
    body = {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", "state": "s1"}
    body.update(params)
    body = {k: v for k, v in body.items() if v is not None}
    return http.post("/par", data={**body, "client_id": client_id, **_auth(key, client_id, issuer)})


def _codes(server: LiveServer) -> list[AuthorizationCode]:
    from sqlmodel import select

    async def rows(services):
        async with services.db.session() as session:
            return list((await session.exec(select(AuthorizationCode))).all())

    return server.call(rows)


def test_a_fapi2_client_logs_in_with_par_pkce_and_dpop(site, key):
    server, admin, http = site
    client_id = register(admin, **fapi2_metadata(key))["client_id"]
    phone = Phone.enroll(admin, http, server.url, "greta")
    verifier, challenge = pkce_pair()
    pushed = _push(
        http, key, client_id, server.url, code_challenge=challenge, code_challenge_method="S256"
    )
    assert pushed.status_code == 201, pushed.text
    browser = Browser(server.url)
    try:
        opened = browser.authorize(
            {"client_id": client_id, "request_uri": pushed.json()["request_uri"]}
        )
        assert opened.status_code == 303, opened.text
        page = LoginPage(browser, opened.headers["location"])
        assert page.ask("greta").status_code == 303
        phone.answer("approve", number_match=page.number())
        values = returned(page.finish())
    finally:
        browser.close()
    assert values["iss"] == server.url and values["state"] == "s1"
    (code_row,) = [c for c in _codes(server) if c.client_id == client_id]
    assert (code_row.expires_at - code_row.created_at).total_seconds() == 60
    redeem = {
        "grant_type": "authorization_code",
        "code": values["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    token_url = server.url + "/token"
    bare = http.post("/token", data={**redeem, **_auth(key, client_id, server.url)})
    assert bare.status_code == 400 and bare.json()["error"] == "invalid_dpop_proof"
    dpop = DpopKey()
    tokens = http.post(
        "/token",
        data={**redeem, **_auth(key, client_id, server.url)},
        headers={"DPoP": dpop.proof("POST", token_url)},
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["token_type"] == "DPoP"


def test_authorize_without_par_is_refused(site, key):
    server, admin, _ = site
    client_id = register(admin, **fapi2_metadata(key))["client_id"]
    _, challenge = pkce_pair()
    browser = Browser(server.url)
    try:
        response = browser.authorize(
            {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"}
        )  # fmt: skip
    finally:
        browser.close()
    values = returned(response)
    assert values["error"] == "invalid_request" and "/par" in values["error_description"]


@pytest.mark.parametrize(
    "pkce",
    [
        {},
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "x" * 43},
    ],
)
def test_par_without_s256_pkce_is_refused(site, key, pkce):
    server, admin, http = site
    client_id = register(admin, **fapi2_metadata(key))["client_id"]
    response = _push(http, key, client_id, server.url, **pkce)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert (
        "FAPI 2.0" in response.json()["error_description"]
        and "S256" in response.json()["error_description"]
    )


def test_a_client_secret_is_refused_as_authentication(site, key):
    _, admin, http = site
    client_id = register(admin, **fapi2_metadata(key))["client_id"]
    _, challenge = pkce_pair()
    response = http.post(
        "/par",
        data={"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
              "code_challenge": challenge, "code_challenge_method": "S256"},
        auth=(client_id, "guess"),
    )  # fmt: skip
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
