"""oauth4webapi (pinned npm) does RAR and DPoP against a live server: a CIBA payment approved
on the simulated phone, tokens bound to the library's DPoP key, /userinfo with its proofs."""

from __future__ import annotations

import jwt

from tests.interop.clients import SCOPE, ciba_config
from tests.interop.driver import run_node
from tests.support.payments import payment


def test_a_dpop_bound_payment_token_through_oauth4webapi(apis, interop_server, phone, browser):
    admin, _ = apis
    config = ciba_config(admin, interop_server.url, phone.user["username"])
    details = [payment("42.10", "Corner Shop", "8841")]
    config["authorization_details"] = details
    result = run_node("oauth4webapi-payment.mjs", config, phone, browser)
    assert "payment_initiation" in result["metadata_types"]
    assert "ES256" in result["metadata_dpop_algs"]
    assert result["token_type"].lower() == "dpop"
    assert result["authorization_details"] == details
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["authorization_details"] == details and "jkt" in claims["cnf"]
    assert result["userinfo_sub"] == result["sub"] == phone.user["id"]
    assert config["scope"] == SCOPE
