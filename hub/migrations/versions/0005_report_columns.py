"""report columns: each conversation's first response and each deal's stage reach

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 06:45:00.000000

The reports read these instead of every conversation's messages and every deal's stage
changes; the existing rows are filled from ``messages`` and ``stage_changes`` with set-based
UPDATEs (``hub.crm_sync.report_columns``) that SQLite and PostgreSQL both run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db
from hub.crm_sync.report_columns import refresh

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_incoming_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("first_reply_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("first_replier_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_first_replier_id_operators"),
            "operators",
            ["first_replier_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_index("ix_conversations_created")
        batch_op.create_index(
            "ix_conversations_first_response",
            ["created_at", "first_incoming_at", "first_reply_at", "first_replier_id"],
            unique=False,
        )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reach_position", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("last_move_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_index("ix_deals_created")
        batch_op.create_index(
            "ix_deals_cohort",
            [
                "created_at",
                "pipeline_id",
                "status",
                "closed_at",
                "last_move_at",
                "reach_position",
            ],
            unique=False,
        )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deals_created_source",
            ["created_at", "pipeline_id", "source_channel", "utm_source", "utm_campaign"],
            unique=False,
        )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_created")
        batch_op.create_index(
            "ix_leads_cohort",
            ["created_at", "deal_id", "source_channel", "utm_source", "utm_campaign"],
            unique=False,
        )
        batch_op.create_index(
            "ix_leads_conversation_source",
            ["conversation_id", "source_channel", "utm_source", "utm_campaign"],
            unique=False,
        )
    refresh(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_conversation_source")
        batch_op.drop_index("ix_leads_cohort")
        batch_op.create_index("ix_leads_created", ["created_at"], unique=False)
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_created_source")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_cohort")
        batch_op.create_index(
            "ix_deals_created", ["created_at", "pipeline_id", "status", "closed_at"], unique=False
        )
        batch_op.drop_column("last_move_at")
        batch_op.drop_column("reach_position")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_first_response")
        batch_op.create_index("ix_conversations_created", ["created_at"], unique=False)
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_first_replier_id_operators"), type_="foreignkey"
        )
        batch_op.drop_column("first_replier_id")
        batch_op.drop_column("first_reply_at")
        batch_op.drop_column("first_incoming_at")
