"""The redirect fallback: the authorization endpoint with PKCE (RFC 6749 §4.1, RFC 7636), pushed
authorization requests (RFC 9126), the login page that asks the user's phone, and the
authorization_code grant."""
