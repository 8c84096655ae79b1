"""calls: a telephony call folded from its provider's events, tracking numbers, providers'
secrets

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 13:00:00

``message_calls`` gains the columns a telephony channel's call is folded into (nullable, so
the calls stored before keep their rows as they were); new tables hold the events waiting for
their call, the tracking numbers' labels and the providers' secrets.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("message_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_call_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("operator", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("started_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("answered_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("ended_at", hub.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recording_ref", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("attribution", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_message_calls_channel_id_channels"),
            "channels",
            ["channel_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "ix_message_calls_provider_call", ["channel_id", "provider_call_id"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_message_calls_answered_at"), ["answered_at"], unique=False
        )
    op.create_table(
        "call_pending_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("provider_call_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("event", JSON, nullable=False),
        sa.Column("received_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_call_pending_events_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_pending_events")),
    )
    op.create_index(
        "ix_call_pending_events_call",
        "call_pending_events",
        ["channel_id", "provider_call_id", "kind"],
        unique=True,
    )
    op.create_table(
        "tracking_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("medium", sa.String(length=100), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_tracking_numbers_number")),
    )
    op.create_table(
        "call_credentials",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_call_credentials_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_call_credentials")),
    )


def downgrade() -> None:
    op.drop_table("call_credentials")
    op.drop_table("tracking_numbers")
    op.drop_index("ix_call_pending_events_call", table_name="call_pending_events")
    op.drop_table("call_pending_events")
    with op.batch_alter_table("message_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_calls_answered_at"))
        batch_op.drop_index("ix_message_calls_provider_call")
        batch_op.drop_constraint(
            batch_op.f("fk_message_calls_channel_id_channels"), type_="foreignkey"
        )
        for name in (
            "attribution",
            "recording_ref",
            "ended_at",
            "started_at",
            "answered_at",
            "operator",
            "provider_call_id",
            "channel_id",
        ):
            batch_op.drop_column(name)
