"""api_tokens.owner: the producer a token acts for (reads are scoped to it); jobs.submitted_by indexed

Existing tokens get owner = their name (each its own producer, as before scoping, minus the leak).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
    op.execute("UPDATE api_tokens SET owner = name WHERE owner IS NULL")
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("owner", existing_type=sa.String(length=64), nullable=False)
    op.create_index("ix_api_tokens_owner", "api_tokens", ["owner"])
    op.create_index("ix_jobs_submitted_by", "jobs", ["submitted_by"])


def downgrade() -> None:
    op.drop_index("ix_jobs_submitted_by", table_name="jobs")
    op.drop_index("ix_api_tokens_owner", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("owner")
