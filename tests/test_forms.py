"""Form bodies (app/http/forms.py): read exactly as the standard library reads them, over a live
server as well as directly."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl

from app.http.forms import parse_pairs

# Pieces a body is made of: separators, escapes valid and not, '+', NUL, non-ASCII text.
PIECES = [
    "a", "b", "=", "&", "%", "+", " ", "%2", "%41", "%e9", "%C3%A9", "%ZZ", "é", "\x00", "%00",
    ";", "%2B", "%26", "%3D", "%F0%9F%98%80", "%80",
]  # fmt: skip


def _standard(body: str) -> list[tuple[str, str]] | str:
    try:
        return parse_qsl(body, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return "not UTF-8"


def _ours(body: str) -> list[tuple[str, str]] | str:
    try:
        return parse_pairs(body)
    except UnicodeDecodeError:
        return "not UTF-8"


def test_bodies_are_read_as_the_standard_library_reads_them():
    rng = random.Random(11)
    for _ in range(20_000):
        body = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 14)))
        assert _ours(body) == _standard(body), body


def test_a_served_form_decodes_escapes_and_refuses_what_is_not_utf8(http):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    bad_escape = http.post(
        "/token", content=b"grant_type=client_credentials&scope=%E9", headers=headers
    )
    assert bad_escape.status_code == 400
    assert bad_escape.json()["error"] == "invalid_request"
    assert "UTF-8" in bad_escape.json()["error_description"]
    unknown = http.post(
        "/token", content=b"grant_type=no+such%2Bgrant%C3%A9&client_id=x", headers=headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_grant_type"
    # Quoted back decoded (its non-ASCII letter shown as '?').
    assert "'no such+grant?'" in unknown.json()["error_description"]
