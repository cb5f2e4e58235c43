"""What an OAuth error body may say: RFC 6749 §5.2's characters for ``error_description``."""

from __future__ import annotations

import re

# %x20-21 / %x23-5B / %x5D-7E: printable ASCII without '"' and '\'.
ERROR_TEXT = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def assert_error_text(text: str) -> None:
    assert ERROR_TEXT.fullmatch(text), f"not RFC 6749 §5.2 error text: {text!r}"
