"""onboarding: click-to-chat proofs, code failures across codes, shared throttles, signins

Revision ID: 0012_onboarding
Revises: 0011_inbound_claims
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cockpit.store.models

revision = "0012_onboarding"
down_revision = "0011_inbound_claims"
branch_labels = None
depends_on = None

_UTC = cockpit.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("phone_codes") as batch:
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("issued", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", _UTC, nullable=True))
    op.create_table(
        "phone_proofs",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("verified_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_phone_proofs_phone", "phone_proofs", ["phone", "created_at"])
    op.create_table(
        "throttle_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=120), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_throttle_hits_bucket", "throttle_hits", ["bucket", "at"])
    op.create_table(
        "web_signins",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_web_signins_user_id", "web_signins", ["user_id"])


def downgrade() -> None:
    op.drop_table("web_signins")
    op.drop_table("throttle_hits")
    op.drop_table("phone_proofs")
    with op.batch_alter_table("phone_codes") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("issued")
        batch.drop_column("failures")
