"""WhatsApp's 24-hour window: users' last inbound time, template sends in the outbox

Revision ID: 0005_window
Revises: 0004_ops
Create Date: 2026-11-26 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0005_window"
down_revision = "0004_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "last_inbound_at", cockpit.store.models.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("content_sid", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("content_variables", sa.Text(), nullable=True))
    # Users who wrote before this column existed: their window runs from their last message.
    op.execute(
        "UPDATE users SET last_inbound_at = (SELECT max(received_at) FROM inbound_messages "
        "WHERE inbound_messages.user_id = users.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("content_variables")
        batch.drop_column("content_sid")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_inbound_at")
