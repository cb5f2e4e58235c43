"""Registration under a FAPI profile: every rule app/clients/fapi.py states refuses metadata that
breaks it, with invalid_client_metadata naming the rule."""

from __future__ import annotations

import pytest

from tests.support.clients import ClientKey, register
from tests.support.fapi import fapi2_metadata, fapi_ciba_metadata

CIBA_BREAKS = [
    ({"token_endpoint_auth_method": "client_secret_basic"}, "must be private_key_jwt"),
    ({"token_endpoint_auth_signing_alg": "RS256"}, "token_endpoint_auth_signing_alg must be"),
    ({"token_endpoint_auth_signing_alg": None}, "token_endpoint_auth_signing_alg must be"),
    (
        {"backchannel_authentication_request_signing_alg": "RS256"},
        "backchannel_authentication_request_signing_alg must be PS256 or ES256",
    ),
    (
        {"backchannel_authentication_request_signing_alg": None},
        "backchannel_authentication_request_signing_alg must be PS256 or ES256",
    ),
    (
        {
            "backchannel_token_delivery_mode": "push",
            "backchannel_client_notification_endpoint": "http://127.0.0.1:9/notify",
        },
        "push mode is not allowed",
    ),
    (
        {"grant_types": ["client_credentials"], "backchannel_token_delivery_mode": None},
        "grant_types must include urn:openid:params:grant-type:ciba",
    ),
]

FAPI2_BREAKS = [
    ({"token_endpoint_auth_method": "client_secret_post"}, "must be private_key_jwt"),
    ({"token_endpoint_auth_signing_alg": "RS256"}, "must be PS256 or ES256 or EdDSA"),
    ({"require_pushed_authorization_requests": False}, "require_pushed_authorization_requests"),
    ({"dpop_bound_access_tokens": False}, "dpop_bound_access_tokens must be true"),
    (
        {"grant_types": ["client_credentials"], "redirect_uris": None},
        "grant_types must include authorization_code",
    ),
]


def _refused(admin, metadata) -> str:
    response = admin.post("/admin/clients", json=metadata)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    return str(response.json()["error_description"])


@pytest.mark.parametrize(("change", "reason"), CIBA_BREAKS)
def test_fapi_ciba_refuses_metadata_breaking_a_rule(admin, change, reason):
    described = _refused(admin, fapi_ciba_metadata(ClientKey("PS256"), **change))
    assert described.startswith("fapi_profile fapi-ciba: ") and reason in described


@pytest.mark.parametrize(("change", "reason"), FAPI2_BREAKS)
def test_fapi2_refuses_metadata_breaking_a_rule(admin, change, reason):
    described = _refused(admin, fapi2_metadata(ClientKey("ES256"), **change))
    assert described.startswith("fapi_profile fapi2-security: ") and reason in described


def test_an_unknown_profile_is_refused(admin):
    described = _refused(admin, fapi_ciba_metadata(ClientKey("PS256"), fapi_profile="fapi-1"))
    assert "fapi_profile" in described


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_a_conforming_fapi_ciba_client_registers_and_keeps_its_profile(admin, alg):
    created = register(
        admin, **fapi_ciba_metadata(ClientKey(alg), backchannel_token_delivery_mode="poll")
    )
    assert "client_secret" not in created
    assert admin.get(f"/admin/clients/{created['client_id']}").json()["fapi_profile"] == "fapi-ciba"


def test_fapi2_accepts_eddsa_assertions(admin):
    created = register(admin, **fapi2_metadata(ClientKey("EdDSA")))
    assert created["fapi_profile"] == "fapi2-security"


def test_a_patch_cannot_break_the_profile(admin):
    created = register(admin, **fapi2_metadata(ClientKey("ES256")))
    response = admin.patch(
        f"/admin/clients/{created['client_id']}", json={"dpop_bound_access_tokens": False}
    )
    assert response.status_code == 400, response.text
    assert "dpop_bound_access_tokens must be true" in response.json()["error_description"]
