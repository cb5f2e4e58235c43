"""panva's openid-client (npm, pinned in tests/interop/package.json) against a live server."""

from __future__ import annotations

import pytest

from tests.interop.clients import ALGS, SCOPE, ciba_config, code_config
from tests.interop.driver import run_node

SCRIPT = "openid-client.mjs"


def _check_full_grant(result, phone, issuer, config, alg="RS256"):
    assert result["issuer"] == issuer
    assert result["id_token_alg"] == alg  # verified against /jwks (non-repudiation checks on)
    assert result["sub"] == result["refreshed_sub"] == result["userinfo_sub"] == phone.user["id"]
    assert result["scope"] == SCOPE
    introspected = result["introspected"]
    assert introspected["active"] is True and introspected["client_id"] == config["client_id"]
    # Revoking the refresh token took the access token of the same grant with it.
    assert result["after_revocation"] == {"active": False}


@pytest.mark.parametrize("jwt_auth", [False, True], ids=["client_secret_basic", "private_key_jwt"])
def test_ciba_poll(apis, interop_server, phone, browser, jwt_auth):
    admin, _ = apis
    config = ciba_config(admin, interop_server.url, phone.user["username"], jwt_auth=jwt_auth)
    result = run_node(SCRIPT, config, phone, browser)
    _check_full_grant(result, phone, interop_server.url, config)


@pytest.mark.parametrize(
    "options",
    [{}, {"response_mode": "form_post"}, {"par": True}],
    ids=["query", "form_post", "par"],
)
def test_code_flow_with_pkce(apis, interop_server, phone, browser, options):
    admin, _ = apis
    config = code_config(admin, interop_server.url, **options)
    result = run_node(SCRIPT, config, phone, browser)
    _check_full_grant(result, phone, interop_server.url, config)


@pytest.mark.parametrize("alg", ALGS)
def test_id_token_verified_for_each_signing_alg(apis, interop_server, phone, browser, alg):
    admin, _ = apis
    config = ciba_config(
        admin, interop_server.url, phone.user["username"], id_token_signed_response_alg=alg
    )
    result = run_node(SCRIPT, config, phone, browser)
    assert result["id_token_alg"] == alg and result["sub"] == phone.user["id"]
