"""panva's oauth4webapi (npm, pinned in tests/interop/package.json) against a live server,
finding the server through RFC 8414 discovery (/.well-known/oauth-authorization-server)."""

from __future__ import annotations

import pytest

from tests.interop.clients import ALGS, SCOPE, ciba_config
from tests.interop.driver import run_node

SCRIPT = "oauth4webapi.mjs"


@pytest.mark.parametrize("jwt_auth", [False, True], ids=["client_secret_basic", "private_key_jwt"])
def test_ciba_poll_refresh_introspect_revoke(apis, interop_server, phone, browser, jwt_auth):
    admin, _ = apis
    config = ciba_config(admin, interop_server.url, phone.user["username"], jwt_auth=jwt_auth)
    result = run_node(SCRIPT, config, phone, browser)
    assert result["issuer"] == interop_server.url
    assert result["id_token_alg"] == "RS256"
    assert result["sub"] == result["refreshed_sub"] == phone.user["id"]
    assert result["scope"] == SCOPE
    assert result["introspected"]["active"] is True
    assert result["introspected"]["client_id"] == config["client_id"]
    assert result["after_revocation"] == {"active": False}


@pytest.mark.parametrize("alg", ALGS)
def test_id_token_signature_checked_for_each_alg(apis, interop_server, phone, browser, alg):
    admin, _ = apis
    config = ciba_config(
        admin, interop_server.url, phone.user["username"], id_token_signed_response_alg=alg
    )
    result = run_node(SCRIPT, config, phone, browser)
    assert result["id_token_alg"] == alg and result["sub"] == phone.user["id"]
