"""The evidence timeline: when a device was first handed a request (auth_requests.shown_at,
copied into the evidence by the decision's write), when its tokens were issued and when the
client was told (decision_evidence.redeemed_at, delivered_at). All nullable: older evidence
simply has no such entries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("auth_requests", sa.Column("shown_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("decision_evidence") as batch_op:
        batch_op.add_column(sa.Column("shown_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("redeemed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision_evidence") as batch_op:
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("redeemed_at")
        batch_op.drop_column("shown_at")
    with op.batch_alter_table("auth_requests") as batch_op:
        batch_op.drop_column("shown_at")
