"""Strong customer authentication: ``authorization_details`` (RFC 9396) on requests, codes and
refresh tokens; DPoP key thumbprints (RFC 9449) on requests and refresh tokens.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DETAILS = ("auth_requests", "authorization_codes", "refresh_tokens")
JKT = ("auth_requests", "refresh_tokens")


def upgrade() -> None:
    for table in DETAILS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))
            if table in JKT:
                batch_op.add_column(sa.Column("dpop_jkt", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in DETAILS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table in JKT:
                batch_op.drop_column("dpop_jkt")
            batch_op.drop_column("authorization_details")
