"""Discovery documents (OpenID Discovery 1.0, RFC 8414) as strict client libraries read them."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

OIDC = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"


def test_metadata_passes_authlibs_strict_validators(http, server):
    metadata = http.get(OIDC).json()
    AuthorizationServerMetadata(metadata).validate()  # RFC 8414 §2, every MUST
    OpenIDProviderMetadata(metadata).validate()
    # RFC 8414 §2: private_key_jwt at an endpoint needs the algorithms it accepts there.
    for endpoint in ("token", "revocation", "introspection"):
        assert "private_key_jwt" in metadata[f"{endpoint}_endpoint_auth_methods_supported"]
        assert metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]


def test_rfc_8414_well_known_serves_the_same_metadata(http, server):
    response = http.get(OAUTH)
    assert response.status_code == 200
    assert response.json() == http.get(OIDC).json()
    assert response.json()["issuer"] == server.url


@pytest.mark.parametrize("path", [OIDC, OAUTH, "/jwks"])
def test_head_is_answered_wherever_get_is(http, path):
    # RFC 9110 §9.3.2: the same headers as GET, and no body.
    got, head = http.get(path), http.head(path)
    assert head.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("cache-control") == got.headers.get("cache-control")
