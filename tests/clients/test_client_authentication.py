"""Client authentication at /token: each method works, and each failure is invalid_client."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import pytest

from tests.support.clients import JWT_BEARER, ClientKey, register, register_key_client
from tests.support.receiver import Receiver

CC = {"grant_type": "client_credentials"}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _assert_invalid_client(response, basic: bool = False) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.headers["cache-control"] == "no-store"
    # RFC 9110 §11.6.1: every 401 carries a challenge, whatever method the client tried.
    assert response.headers["www-authenticate"].startswith("Basic realm=")


def test_client_secret_basic(admin, http):
    client = register(admin, grant_types=["client_credentials"])
    ok = http.post("/token", data=CC, headers=_basic(client["client_id"], client["client_secret"]))
    assert ok.status_code == 200, ok.text
    wrong = http.post(
        "/token", data=CC, headers=_basic(client["client_id"], "x" + client["client_secret"])
    )
    _assert_invalid_client(wrong, basic=True)
    unknown = http.post("/token", data=CC, headers=_basic("nobody", client["client_secret"]))
    _assert_invalid_client(unknown, basic=True)


def test_client_secret_basic_decodes_form_encoded_credentials(admin, http):
    client = register(admin, client_id="till.4~x", grant_types=["client_credentials"])
    ok = http.post("/token", data=CC, headers=_basic(client["client_id"], client["client_secret"]))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "header", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"nocolon").decode(), "Basic Og=="]
)
def test_malformed_basic_header_is_invalid_client(http, header):
    _assert_invalid_client(
        http.post("/token", data=CC, headers={"Authorization": header}), basic=True
    )


def test_client_secret_post(admin, http):
    client = register(
        admin, grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_post"
    )
    form = {**CC, "client_id": client["client_id"], "client_secret": client["client_secret"]}
    assert http.post("/token", data=form).status_code == 200
    _assert_invalid_client(http.post("/token", data={**form, "client_secret": "wrong"}))


def test_a_client_must_use_the_method_it_registered(admin, http):
    client = register(admin, grant_types=["client_credentials"])  # client_secret_basic
    form = {**CC, "client_id": client["client_id"], "client_secret": client["client_secret"]}
    response = http.post("/token", data=form)
    _assert_invalid_client(response)
    assert "client_secret_basic" in response.json()["error_description"]


def test_two_methods_at_once_is_invalid_request(admin, http):
    client = register(admin, grant_types=["client_credentials"])
    response = http.post(
        "/token",
        data={**CC, "client_secret": client["client_secret"], "client_id": client["client_id"]},
        headers=_basic(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_no_credentials_is_invalid_client(http):
    _assert_invalid_client(http.post("/token", data=CC))


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_private_key_jwt_with_inline_jwks(admin, http, server, alg):
    key = ClientKey(alg)
    client = register_key_client(admin, jwks=key.jwks)
    cid = client["client_id"]
    form = {
        **CC,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": key.assertion(cid, server.url + "/token"),
    }
    response = http.post("/token", data=form)
    assert response.status_code == 200, response.text


def test_private_key_jwt_accepts_the_issuer_as_audience_and_refuses_a_replay(admin, http, server):
    key = ClientKey()
    client = register_key_client(admin, jwks=key.jwks)
    assertion = key.assertion(client["client_id"], server.url)
    form = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    assert http.post("/token", data=form).status_code == 200
    replay = http.post("/token", data=form)
    _assert_invalid_client(replay)
    assert "used before" in replay.json()["error_description"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "https://elsewhere.example.com"}, "audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": int(time.time()) + 3600 + 300}, "too far"),
        ({"jti": None}, "jti"),
        ({"iss": "someone-else"}, "issuer"),
        ({"sub": "someone-else"}, "sub"),
        ({"jti": "x" * 300}, "jti"),
    ],
)
def test_private_key_jwt_claim_checks(admin, http, server, overrides, reason):
    key = ClientKey()
    client = register_key_client(admin, jwks=key.jwks)
    cid = client["client_id"]
    assertion = key.assertion(cid, server.url + "/token", **overrides)
    form = {
        **CC,
        "client_id": cid,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
    }
    response = http.post("/token", data=form)
    _assert_invalid_client(response)


def test_private_key_jwt_accepts_an_hour_long_assertion(admin, http, server):
    # Authlib's client assertions live 3600 s by default; the cap must let them in.
    key = ClientKey()
    client = register_key_client(admin, jwks=key.jwks)
    assertion = key.assertion(
        client["client_id"], server.url + "/token", exp=int(time.time()) + 3600
    )
    form = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    assert http.post("/token", data=form).status_code == 200
    _assert_invalid_client(http.post("/token", data=form))  # its jti is kept while it is valid


def test_private_key_jwt_signed_by_another_key_is_refused(admin, http, server):
    registered, other = ClientKey(kid="k1"), ClientKey(kid="k1")
    client = register_key_client(admin, jwks=registered.jwks)
    assertion = other.assertion(client["client_id"], server.url + "/token")
    response = http.post(
        "/token", data={**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    )
    _assert_invalid_client(response)


@pytest.mark.parametrize(
    "form",
    [
        {"client_assertion_type": "urn:wrong", "client_assertion": "a.b.c"},
        {"client_assertion_type": JWT_BEARER, "client_assertion": "not-a-jwt"},
        {"client_assertion_type": JWT_BEARER},
        {
            "client_assertion_type": JWT_BEARER,
            "client_assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        },
    ],
)
def test_malformed_assertions_are_invalid_client(http, form):
    _assert_invalid_client(http.post("/token", data={**CC, **form}))


def test_private_key_jwt_with_jwks_uri_picks_up_a_rotated_key(admin, http, server, monkeypatch):
    # The server lives in this process: let an unknown kid refetch at once instead of after 10 s.
    monkeypatch.setattr("app.clients.jwks.REFETCH_AFTER_SECONDS", 0)
    old, new = ClientKey(kid="old"), ClientKey(kid="new")
    with Receiver.start() as jwks_host:
        jwks_host.default = (200, old.jwks)
        client = register_key_client(admin, jwks_uri=jwks_host.url + "/jwks.json")
        cid, aud = client["client_id"], server.url + "/token"
        form = {**CC, "client_assertion_type": JWT_BEARER}
        assert (
            http.post(
                "/token", data={**form, "client_assertion": old.assertion(cid, aud)}
            ).status_code
            == 200
        )
        assert (
            http.post(
                "/token", data={**form, "client_assertion": old.assertion(cid, aud)}
            ).status_code
            == 200
        )
        assert len(jwks_host.requests) == 1  # the second use came from the cache
        # The client rotates: its jwks_uri now serves the new key; an unknown kid forces a refetch.
        jwks_host.default = (200, new.jwks)
        response = http.post("/token", data={**form, "client_assertion": new.assertion(cid, aud)})
        assert response.status_code == 200, response.text
        assert len(jwks_host.requests) == 2


def test_jwks_uri_that_fails_is_invalid_client(admin, http, server):
    key = ClientKey()
    with Receiver.start() as jwks_host:
        jwks_host.default = (500, {"oops": True})
        client = register_key_client(admin, jwks_uri=jwks_host.url + "/jwks.json")
        assertion = key.assertion(client["client_id"], server.url + "/token")
        response = http.post(
            "/token",
            data={**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion},
        )
        _assert_invalid_client(response)


def test_none_authenticates_a_public_client_only(admin, http):
    public = register(
        admin, redirect_uris=["https://app.example.com/cb"], token_endpoint_auth_method="none"
    )
    # Authentication passes, so the refusal is about the grant, not the client.
    response = http.post("/token", data={**CC, "client_id": public["client_id"]})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"

    confidential = register(admin, grant_types=["client_credentials"])
    _assert_invalid_client(http.post("/token", data={**CC, "client_id": confidential["client_id"]}))


# Every endpoint that authenticates clients, with a body that is valid apart from the credentials.
CLIENT_ENDPOINTS = {
    "/token": CC,
    "/bc-authorize": {"scope": "openid", "login_hint": "nobody"},
    "/par": {"response_type": "code", "redirect_uri": "https://app.example.com/cb"},
    "/revoke": {"token": "whatever"},
    "/introspect": {"token": "whatever"},
}


@pytest.mark.parametrize("endpoint", CLIENT_ENDPOINTS)
def test_every_failed_client_authentication_carries_a_challenge(admin, http, server, endpoint):
    body = CLIENT_ENDPOINTS[endpoint]
    poster = register(
        admin, grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_post"
    )
    _assert_invalid_client(
        http.post(endpoint, data={**body, "client_id": poster["client_id"], "client_secret": "x"})
    )
    _assert_invalid_client(http.post(endpoint, data=body))  # no client authentication at all

    registered, other = ClientKey(kid="k1"), ClientKey(kid="k1")
    signer = register_key_client(admin, jwks=registered.jwks)
    cid, aud = signer["client_id"], server.url + endpoint
    wrong_key = {"client_assertion_type": JWT_BEARER, "client_assertion": other.assertion(cid, aud)}
    _assert_invalid_client(http.post(endpoint, data={**body, **wrong_key}))
    once = {"client_assertion_type": JWT_BEARER, "client_assertion": registered.assertion(cid, aud)}
    first = http.post(endpoint, data={**body, **once})
    assert first.status_code != 401, first.text
    _assert_invalid_client(http.post(endpoint, data={**body, **once}))  # replayed
