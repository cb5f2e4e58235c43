"""authorization_codes.dpop_jkt: a code bound to a DPoP key (RFC 9449 §10) by the authorization
request's dpop_jkt or by the proof sent to /par; only a proof by that key redeems it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("authorization_codes", sa.Column("dpop_jkt", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("authorization_codes") as batch_op:
        batch_op.drop_column("dpop_jkt")
