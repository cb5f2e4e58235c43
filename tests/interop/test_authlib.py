"""Authlib (PyPI, the test extra) as an integrator would use it against a live server: its
RFC 8414 / OpenID metadata validators, its OAuth2Client (with its own private_key_jwt), and
joserfc (Authlib's JOSE) checking ID token signatures against /jwks."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.interop.clients import ALGS, CIBA, SCOPE, ciba_config, code_config
from tests.support.web import Browser, form_post_fields, log_in_at, pkce_pair


def _metadata(url: str) -> dict:
    metadata = httpx.get(url + "/.well-known/openid-configuration").json()
    AuthorizationServerMetadata(metadata).validate()
    OpenIDProviderMetadata(metadata).validate()
    return metadata


def _client(metadata: dict, config: dict) -> OAuth2Client:
    if "private_jwk" in config:
        # Authlib's own private_key_jwt, with its defaults: an assertion lives 3600 s (which a
        # 300 s cap refused).
        signer = PrivateKeyJWT(metadata["token_endpoint"], alg="ES256")
        return OAuth2Client(
            config["client_id"],
            ECKey.import_key(config["private_jwk"]),
            token_endpoint_auth_method=signer,
            revocation_endpoint_auth_method=signer,
        )
    return OAuth2Client(config["client_id"], config["client_secret"], scope=SCOPE)


def _verified_claims(metadata: dict, client_id: str, id_token: str) -> tuple[dict, str]:
    keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"]).json())
    token = jwt.decode(id_token, keys, algorithms=list(ALGS))
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
    ).validate(token.claims)
    return token.claims, token.header["alg"]


def _ciba_tokens(metadata: dict, client: OAuth2Client, phone, login_hint: str) -> dict:
    started = client.request(
        "POST",
        metadata["backchannel_authentication_endpoint"],
        data={"scope": SCOPE, "login_hint": login_hint},
        auth=client.client_auth(client.token_endpoint_auth_method),
        withhold_token=True,
    )
    assert started.status_code == 200, started.text
    phone.answer("approve")
    return dict(
        client.fetch_token(
            metadata["token_endpoint"], grant_type=CIBA, auth_req_id=started.json()["auth_req_id"]
        )
    )


def _use_grant(metadata: dict, client: OAuth2Client, tokens: dict, phone) -> None:
    """Refresh, userinfo, introspection and revocation, the way Authlib does each."""
    claims, alg = _verified_claims(metadata, client.client_id, tokens["id_token"])
    assert claims["sub"] == phone.user["id"] and alg == "RS256"
    refreshed = client.refresh_token(metadata["token_endpoint"], tokens["refresh_token"])
    userinfo = client.get(metadata["userinfo_endpoint"])  # with the refreshed token
    assert userinfo.json()["sub"] == phone.user["id"]
    url = metadata["introspection_endpoint"]
    introspected = client.introspect_token(url, refreshed["access_token"]).json()
    assert introspected["active"] is True and introspected["client_id"] == client.client_id
    revoked = client.revoke_token(metadata["revocation_endpoint"], refreshed["refresh_token"])
    assert revoked.status_code == 200
    assert client.introspect_token(url, refreshed["access_token"]).json() == {"active": False}


@pytest.mark.parametrize("jwt_auth", [False, True], ids=["client_secret_basic", "private_key_jwt"])
def test_ciba_poll(apis, interop_server, phone, jwt_auth):
    admin, _ = apis
    metadata = _metadata(interop_server.url)
    config = ciba_config(admin, interop_server.url, phone.user["username"], jwt_auth=jwt_auth)
    with _client(metadata, config) as client:
        tokens = _ciba_tokens(metadata, client, phone, config["login_hint"])
        _use_grant(metadata, client, tokens, phone)


@pytest.mark.parametrize("mode", ["query", "form_post", "par"])
def test_code_flow_with_pkce(apis, interop_server, phone, browser: Browser, mode):
    admin, _ = apis
    metadata = _metadata(interop_server.url)
    config = code_config(admin, interop_server.url)
    verifier, _ = pkce_pair()
    with OAuth2Client(
        config["client_id"],
        config["client_secret"],
        scope=SCOPE,
        redirect_uri=config["redirect_uri"],
        code_challenge_method="S256",
    ) as client:
        extra = {"response_mode": "form_post"} if mode == "form_post" else {}
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, **extra
        )
        if mode == "par":
            query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
            pushed = client.request(
                "POST",
                metadata["pushed_authorization_request_endpoint"],
                content=url.split("?", 1)[1],
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=client.client_auth(client.token_endpoint_auth_method),
                withhold_token=True,
            )
            assert pushed.status_code == 201, pushed.text
            params = {"client_id": query["client_id"], "request_uri": pushed.json()["request_uri"]}
            url = metadata["authorization_endpoint"] + "?" + urlencode(params)
        answer = log_in_at(browser, url, phone, phone.user["username"])
        if mode == "form_post":
            fields = form_post_fields(answer)
            assert fields["state"] == state
            tokens = client.fetch_token(
                metadata["token_endpoint"], code=fields["code"], code_verifier=verifier
            )
        else:
            tokens = client.fetch_token(
                metadata["token_endpoint"],
                authorization_response=answer.headers["location"],
                code_verifier=verifier,
                state=state,
            )
        _use_grant(metadata, client, dict(tokens), phone)


@pytest.mark.parametrize("alg", ALGS)
def test_id_token_verified_for_each_signing_alg(apis, interop_server, phone, alg):
    admin, _ = apis
    metadata = _metadata(interop_server.url)
    config = ciba_config(
        admin, interop_server.url, phone.user["username"], id_token_signed_response_alg=alg
    )
    with _client(metadata, config) as client:
        tokens = _ciba_tokens(metadata, client, phone, config["login_hint"])
        claims, signed_with = _verified_claims(metadata, client.client_id, tokens["id_token"])
    assert signed_with == alg and claims["sub"] == phone.user["id"]
