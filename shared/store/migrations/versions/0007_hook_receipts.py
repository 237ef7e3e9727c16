"""hook_receipts: every inbound registrar webhook received (POST /v1/hooks/{registrar}), accepted or not

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 06:31:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.store.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("registrar", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("signed_at", shared.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", shared.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_hook_receipts_event_id", "hook_receipts", ["event_id"])
    op.create_index("ix_hook_receipts_received_at", "hook_receipts", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_hook_receipts_received_at", table_name="hook_receipts")
    op.drop_index("ix_hook_receipts_event_id", table_name="hook_receipts")
    op.drop_table("hook_receipts")
