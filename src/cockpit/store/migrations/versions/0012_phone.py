"""Phone-native messages: Content API templates, interactive outbox rows, answered prompts

Revision ID: 0012_phone
Revises: 0012_onboarding
Create Date: 2026-12-06 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0012_phone"
down_revision = "0012_onboarding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_templates",
        sa.Column("definition_hash", sa.String(length=64), primary_key=True),
        sa.Column("content_sid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("interactive", sa.String(length=32), nullable=True))
    with op.batch_alter_table("prompts") as batch:
        batch.add_column(sa.Column("resolution", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("resolved_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("prompts") as batch:
        batch.drop_column("resolved_at")
        batch.drop_column("resolution")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("interactive")
    op.drop_table("content_templates")
