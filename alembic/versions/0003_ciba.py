"""CIBA: refresh tokens, the index of pairwise subjects (for id_token_hint), user code lockout,
indexes for the rate limits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.create_index("ix_auth_requests_client_recent", ["client_id", "created_at"])
        batch_op.create_index("ix_auth_requests_user_recent", ["user_id", "created_at"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("user_code_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("user_code_locked_until", sa.DateTime(), nullable=True))

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("family_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(1000), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=True),
        sa.Column("acr", sa.String(100), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        for column in ("client_id", "user_id", "family_id", "expires_at"):
            batch_op.create_index(batch_op.f(f"ix_refresh_tokens_{column}"), [column])

    op.create_table(
        "pairwise_subjects",
        sa.Column("sector", sa.String(255), nullable=False),
        sa.Column("sub", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sector", "sub"),
    )
    with op.batch_alter_table("pairwise_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pairwise_subjects_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("auth_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_requests_user_recent")
        batch_op.drop_index("ix_auth_requests_client_recent")
    op.drop_table("pairwise_subjects")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("user_code_locked_until")
        batch_op.drop_column("user_code_failures")
