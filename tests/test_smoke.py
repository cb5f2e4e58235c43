def test_discovery_names_the_issuer_and_jwks(http):
    body = http.get("/.well-known/openid-configuration").json()
    assert body["issuer"] == str(http.base_url).rstrip("/")
    assert body["jwks_uri"] == body["issuer"] + "/jwks"
