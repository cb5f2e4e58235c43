"""auth_requests: the auth_req_id names its row (app/decoupled/handles.py), so its hash loses its
unique index, and the user_id index goes (ix_auth_requests_user_pending starts with user_id and
serves the users' cascade). Two index entries fewer per new request, both on random pages.
rate_counts loses its expires_at index, which every bump of a counter rewrote; only the purge
job asks by expires_at, and it scans one row per key active in the last window.

A CIBA request started before this revision cannot be redeemed after it (the client's
auth_req_id has the old form and gets invalid_grant); requests live at most
BACKCHANNEL_CIBA_MAX_EXPIRY. docs/deployment.md says so under upgrades.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0002 left the unique constraint unnamed: PostgreSQL calls it auth_requests_auth_req_id_hash_key;
# SQLite's batch mode needs a naming convention to find it when it copies the table.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_name() -> str:
    if op.get_bind().dialect.name == "sqlite":
        return "uq_auth_requests_auth_req_id_hash"
    return "auth_requests_auth_req_id_hash_key"


def upgrade() -> None:
    with op.batch_alter_table("auth_requests", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_unique_name(), type_="unique")
        batch_op.drop_index("ix_auth_requests_user_id")
    op.drop_index("ix_rate_counts_expires_at", table_name="rate_counts")


def downgrade() -> None:
    op.create_index("ix_rate_counts_expires_at", "rate_counts", ["expires_at"])
    with op.batch_alter_table("auth_requests", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.create_index("ix_auth_requests_user_id", ["user_id"])
        batch_op.create_unique_constraint(_unique_name(), ["auth_req_id_hash"])
