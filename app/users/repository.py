"""The user lookups on the hot paths (a login hint on every /bc-authorize)."""

from __future__ import annotations

from app.storage.sql import Codec
from app.users.models import User

ROWS = Codec(User)
BY_ID = f"SELECT {ROWS.columns} FROM users WHERE id = :id"
# A login hint may be the username, the email or the phone number.
BY_HINT = (
    f"SELECT {ROWS.columns} FROM users "
    "WHERE username = :username OR email = :email OR phone_number = :phone LIMIT 2"
)
