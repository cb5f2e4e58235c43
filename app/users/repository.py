"""The user lookups on the hot paths (a login hint on every /bc-authorize)."""

from __future__ import annotations

from app.storage.sql import Codec, Row
from app.users.models import User

ROWS = Codec(User)
# With each user, whether an authenticator is enrolled: /bc-authorize refuses at once a user
# nobody could answer for, and asking in the same statement saves it a round trip.
_ENROLLED = "EXISTS (SELECT 1 FROM devices WHERE devices.user_id = users.id) AS enrolled"
BY_ID = f"SELECT {ROWS.columns}, {_ENROLLED} FROM users WHERE id = :id"
# A login hint may be the username, the email or the phone number.
BY_HINT = (
    f"SELECT {ROWS.columns}, {_ENROLLED} FROM users "
    "WHERE username = :username OR email = :email OR phone_number = :phone LIMIT 2"
)


def load(row: Row | None) -> tuple[User, bool] | None:
    """A user row of BY_ID or BY_HINT: the user, and whether an authenticator is enrolled."""
    if row is None:
        return None
    enrolled = bool(row.pop("enrolled"))
    return ROWS.load(row), enrolled
