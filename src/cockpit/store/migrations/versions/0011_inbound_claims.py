"""Inbound claims: which relay handles an inbound message, and until when

Revision ID: 0011_inbound_claims
Revises: 0010_host_lease
Create Date: 2026-11-26 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_inbound_claims"
down_revision = "0010_host_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
