"""Signing keys: generation, storage (optionally encrypted), rotation and the JWKS (RFC 7517)."""
