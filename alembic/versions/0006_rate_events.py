"""Budgets of anonymous callers (login page tries, wrong user codes): app/ratelimit.py. Wrong
user codes are counted there per (client, user) now, so the users table's counters go.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_events_bucket_expires", "rate_events", ["bucket", "expires_at"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("user_code_failures")
        batch_op.drop_column("user_code_locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("user_code_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("user_code_locked_until", sa.DateTime(), nullable=True))
    op.drop_index("ix_rate_events_bucket_expires", table_name="rate_events")
    op.drop_table("rate_events")
