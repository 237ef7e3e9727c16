"""jobs: republish_at, republishes, max_due_wait_seconds (sweep back-off and recovery figures)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 15:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("republish_at", shared.store.schema.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("republishes", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("max_due_wait_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("max_due_wait_seconds")
        batch_op.drop_column("republishes")
        batch_op.drop_column("republish_at")
