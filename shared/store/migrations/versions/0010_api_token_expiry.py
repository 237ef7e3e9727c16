"""api_tokens: an expiry (``expires_at``) and a signing secret being rotated out (``previous_webhook_secret``
valid until ``previous_secret_until``)

``regq api-token create NAME --expires-in 30d`` sets ``expires_at``: from then the token answers 401 like
an unknown one. ``regq api-token rotate-secret NAME --window 24h`` moves the signing secret to
``previous_webhook_secret`` and makes a new one: until ``previous_secret_until`` every webhook carries a
``v1`` by each. Existing tokens: no expiry, no rotation under way (all NULL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.store.schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("expires_at", shared.store.schema.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("previous_webhook_secret", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("previous_secret_until", shared.store.schema.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_webhook_secret")
        batch.drop_column("expires_at")
