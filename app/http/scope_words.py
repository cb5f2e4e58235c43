"""Scopes in the words a person reads them in: the login page and the web authenticator say the
same thing for the same scope."""

from __future__ import annotations

SCOPE_WORDS = {
    "openid": "your identity",
    "profile": "your name and profile",
    "email": "your email address",
    "phone": "your phone number",
    "address": "your address",
    "offline_access": "access while you are away",
}
