"""OAuth 2.0 Demonstrating Proof of Possession (RFC 9449): access tokens bound to a key the
client holds, so a stolen token is useless without the key."""
