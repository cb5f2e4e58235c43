"""auth_requests indexes for what the hot paths ask now: the rate limits are counters (0005), so
their (client, created) and (user, created) indexes go; the phone's list of a user's pending
requests and the expiry job get an index each, instead of one on status alone (with which
SQLite scanned every pending request in the table for each phone's list).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_requests_user_recent")
        batch_op.drop_index("ix_auth_requests_client_recent")
        batch_op.drop_index("ix_auth_requests_status")
        batch_op.create_index("ix_auth_requests_user_pending", ["user_id", "status", "expires_at"])
        batch_op.create_index("ix_auth_requests_status_expires", ["status", "expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_requests_status_expires")
        batch_op.drop_index("ix_auth_requests_user_pending")
        batch_op.create_index("ix_auth_requests_status", ["status"])
        batch_op.create_index("ix_auth_requests_client_recent", ["client_id", "created_at"])
        batch_op.create_index("ix_auth_requests_user_recent", ["user_id", "created_at"])
