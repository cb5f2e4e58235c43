"""A public client's refresh token is bound to the DPoP key its tokens were issued for (RFC 9449
§5): it has no secret, so the key is what stops a stolen refresh token from being used."""

from __future__ import annotations

import jwt

from tests.support.payments import DpopKey
from tests.support.web import WebClient, log_in


def _refresh(http, server, web, refresh_token, key=None):
    headers = {"DPoP": key.proof("POST", server.url + "/token")} if key else {}
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return http.post("/token", data=data | {"client_id": web.client_id}, headers=headers)


def test_a_public_clients_refresh_token_works_only_with_its_dpop_key(
    admin, http, server, phone, browser
):
    web = WebClient.register(
        admin, token_endpoint_auth_method="none", scope="openid profile offline_access"
    )
    key = DpopKey()
    values = log_in(browser, web, phone, "kim", scope="openid profile offline_access")
    proof = key.proof("POST", server.url + "/token")
    issued = web.redeem(
        http, values["code"], headers={"DPoP": proof}, code_verifier=values["verifier"]
    )
    assert issued.status_code == 200, issued.text
    refresh_token = issued.json()["refresh_token"]

    for other in (None, DpopKey()):
        refused = _refresh(http, server, web, refresh_token, other)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_dpop_proof"
    renewed = _refresh(http, server, web, refresh_token, key)  # the refusals did not rotate it
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    claims = jwt.decode(renewed.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}
    # The rotated refresh token keeps the binding.
    again = _refresh(http, server, web, renewed.json()["refresh_token"], DpopKey())
    assert again.json()["error"] == "invalid_dpop_proof"
