"""The redirect fallback: stored authorization requests (PAR, login pages), authorization codes,
browser sessions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _reference(name: str, target: str, length: int) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.String(length), sa.ForeignKey(target, ondelete="CASCADE"), nullable=False
    )


def _indexes(table: str, columns: Sequence[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column])


def upgrade() -> None:
    op.create_table(
        "authorization_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("handle_hash", sa.String(128), nullable=True, unique=True),
        _reference("client_id", "clients.client_id", 128),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("browser_hash", sa.String(128), nullable=True),
        sa.Column("attempt_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    _indexes("authorization_requests", ("client_id", "expires_at"))

    op.create_table(
        "authorization_codes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code_hash", sa.String(128), nullable=False, unique=True),
        _reference("client_id", "clients.client_id", 128),
        _reference("user_id", "users.id", 64),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("scope", sa.String(1000), nullable=False),
        sa.Column("nonce", sa.String(500), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(8), nullable=True),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("acr", sa.String(100), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(), nullable=True),
        sa.Column("access_jti", sa.String(64), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(), nullable=True),
        sa.Column("refresh_family_id", sa.String(64), nullable=True),
    )
    _indexes("authorization_codes", ("client_id", "user_id", "expires_at"))

    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
        _reference("user_id", "users.id", 64),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("acr", sa.String(100), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    _indexes("browser_sessions", ("user_id", "expires_at"))


def downgrade() -> None:
    for table in ("browser_sessions", "authorization_codes", "authorization_requests"):
        op.drop_table(table)
