"""The one reader of JSON that strangers send: request bodies, WebSocket frames.

Python's parser recurses once per ``[`` or ``{``: 100,000 of them raise ``RecursionError``, which
is no ``ValueError`` and so escaped every handler as a 500 or a dropped socket. Nesting is
counted before parsing and anything deeper than any message of ours is refused as not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.errors import InvalidRequest

# Our deepest message (client metadata: jwks → keys → key → member) is 4 levels; room to spare.
MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def parse_json(raw: str | bytes, what: str = "the body") -> Any:
    """``raw`` parsed; ``invalid_request`` when it is not UTF-8 JSON or nests too deep."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if _depth(text) > MAX_DEPTH:
            raise InvalidRequest(f"{what} nests deeper than {MAX_DEPTH} levels")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequest(f"{what} is not valid JSON") from None


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot be deeper than that: the common case needs no scan
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
