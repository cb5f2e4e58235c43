"""The one error renderer: whatever an error says, the client receives RFC-shaped text."""

from __future__ import annotations

import app.main  # noqa: F401  (imports every module, so every error class is defined)
from app.errors import InvalidToken, OAuthError
from app.http.errors import render
from tests.support.errors import assert_error_text

# What a library's message or an echoed input could put in a description.
NASTY = 'Token is missing the "nbf" claim \\ tab\there\nnewline, café, NUL\x00, emoji \U0001f600'


# Errors whose constructor needs more than a description.
EXTRA = {"TooManyRequests": {"retry_after": 1}, "InsufficientScope": {"scope": "openid"}}


def _every_error_class(base: type[OAuthError] = OAuthError) -> list[type[OAuthError]]:
    found: list[type[OAuthError]] = []
    for sub in base.__subclasses__():
        found += [sub, *_every_error_class(sub)]
    return found


def test_every_error_class_renders_a_spec_safe_description():
    classes = [OAuthError, *_every_error_class()]
    assert len(classes) > 30
    for cls in classes:
        exc = cls(NASTY, **EXTRA.get(cls.__name__, {}))
        body = exc.body()
        assert_error_text(body["error"])
        assert_error_text(body["error_description"])
        assert "nbf" in body["error_description"]  # the meaning survives
        rendered = render(exc)
        assert b"\\u" not in rendered.body  # nothing outside ASCII left to escape


def test_the_bearer_challenge_quotes_a_safe_description():
    challenge = InvalidToken(NASTY).headers["WWW-Authenticate"]
    quoted = challenge.split('error_description="', 1)[1]
    assert quoted.endswith('"')
    assert_error_text(quoted[:-1])
