"""Drop the auth_requests indexes the rate limits counted with: the limits are counters now
(0005), and every index is one more write on each /bc-authorize.

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


def downgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.create_index("ix_auth_requests_client_recent", ["client_id", "created_at"])
        batch_op.create_index("ix_auth_requests_user_recent", ["user_id", "created_at"])
