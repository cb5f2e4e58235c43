"""OpenID Provider metadata (OpenID Discovery 1.0 §3, RFC 8414) and the JWKS endpoint."""
