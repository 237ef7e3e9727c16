"""jobs.wait_code: why a waiting job waits, as a stable label (shared/wait_reasons.py)

``wait_reason`` stays the text a human reads; ``wait_code`` is one of a few labels (operator, rate_limit,
breaker, transfer, registry, in_use, partial, shared_fetch, backend, retry, lease_expired) that
``regq jobs`` shows and the exporter counts as ``regq_jobs_waiting{reason}``. Rows written before it:
NULL, read as ``other``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("wait_code", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("wait_code")
