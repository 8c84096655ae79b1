"""email out: open and click tracking (the tracked emails and every hit on their pixel and links)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:05:00.000000

New tables only: nothing existing changes, and there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_tracking",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "links",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sent_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_email_tracking_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_email_tracking")),
        sa.UniqueConstraint("token", name=op.f("uq_email_tracking_token")),
    )
    op.create_table(
        "email_tracking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("client", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["email_tracking.message_id"],
            name=op.f("fk_email_tracking_events_message_id_email_tracking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_tracking_events")),
    )
    op.create_index(
        "ix_email_tracking_events_message_kind",
        "email_tracking_events",
        ["message_id", "kind"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_email_tracking_events_message_kind", table_name="email_tracking_events")
    op.drop_table("email_tracking_events")
    op.drop_table("email_tracking")
