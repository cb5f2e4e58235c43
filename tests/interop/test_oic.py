"""pyoidc's ``oic`` (PyPI, the test extra): discovery, the code flow with PKCE, and the ID token
of a client that registered no algorithm (RS256, OpenID Registration §2; oic reads no EdDSA)."""

from __future__ import annotations

from urllib.parse import urlsplit

from oic.oic import Client
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.interop.clients import SCOPE, code_config
from tests.support.web import log_in_at


def test_code_flow_with_pkce_and_a_default_rs256_id_token(apis, interop_server, phone, browser):
    admin, _ = apis
    config = code_config(admin, interop_server.url)
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.allow["issuer_mismatch"] = False
    provider = client.provider_config(interop_server.url)  # discovery, keys loaded from /jwks
    assert provider["issuer"] == interop_server.url
    client.store_registration_info(
        RegistrationResponse(
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            redirect_uris=[config["redirect_uri"]],
        )
    )
    client.redirect_uris = [config["redirect_uri"]]
    state = "st-oic"
    challenge, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(
        request_args={
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
            "nonce": "n-oic",
            "redirect_uri": config["redirect_uri"],
            **challenge,
        }
    )
    url = request.request(provider["authorization_endpoint"])
    answer = log_in_at(browser, url, phone, phone.user["username"])
    query = urlsplit(answer.headers["location"]).query
    response = client.parse_response(AuthorizationResponse, info=query, sformat="urlencoded")
    assert response["state"] == state
    tokens = client.do_access_token_request(
        state=state,
        request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_basic",
    )
    id_token = tokens["id_token"]  # oic verified its signature against /jwks
    assert id_token.jws_header["alg"] == "RS256"
    assert id_token["sub"] == phone.user["id"] and id_token["nonce"] == "n-oic"
    userinfo = client.do_user_info_request(state=state)
    assert userinfo["sub"] == phone.user["id"]
