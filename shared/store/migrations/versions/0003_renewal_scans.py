"""renewal_scans: one row per run of the renewal scan (counts, start, end)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scanned", sa.Integer(), nullable=False),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("already_queued", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", shared.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shared.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("renewal_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renewal_scans_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("renewal_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewal_scans_started_at"))
    op.drop_table("renewal_scans")
