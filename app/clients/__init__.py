"""Clients: registration metadata (RFC 7591 names), the admin API, and client authentication."""
