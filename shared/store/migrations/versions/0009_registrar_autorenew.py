"""domains.registrar_autorenew: whether the registrar's own auto-renew is on (NULL = not known yet)

regq renews domains itself (the renewal scan); a registrar that also auto-renews would bill the customer
twice. shared/execution/autorenew.py switches the registrar's side off and records False here; a domain
read that returns the registrar's flag records it too. `regq domains show` reads it to say which side renews.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domains") as batch:
        batch.add_column(sa.Column("registrar_autorenew", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("domains") as batch:
        batch.drop_column("registrar_autorenew")
