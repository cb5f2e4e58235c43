"""Discovery advertises every CIBA metadata field (CIBA Core §4) with values the server keeps."""

from __future__ import annotations

from app.devices.decisions import ACR


def test_ciba_metadata_is_advertised(http, server):
    metadata = http.get("/.well-known/openid-configuration").json()
    assert metadata["backchannel_authentication_endpoint"] == server.url + "/bc-authorize"
    assert metadata["backchannel_token_delivery_modes_supported"] == ["poll", "ping", "push"]
    assert set(metadata["backchannel_authentication_request_signing_alg_values_supported"]) == {
        "EdDSA",
        "ES256",
        "PS256",
        "RS256",
    }
    assert metadata["backchannel_user_code_parameter_supported"] is True
    assert "urn:openid:params:grant-type:ciba" in metadata["grant_types_supported"]
    assert metadata["acr_values_supported"] == [ACR]
    # The advertised endpoint is the one that answers (405 for GET, not 404).
    assert http.get("/bc-authorize").status_code == 405
