"""Tokens: minting ID tokens and RFC 9068 access tokens, and the token endpoint's grant registry."""
