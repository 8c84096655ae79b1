"""calls: recordings a provider names by id (Zadarma, Mango), queued to be fetched through its API

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:10:00.000000

A new table only: nothing existing changes. Calls stored before keep their recording's id
(``recording_ref``) and are not queued.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recording_jobs",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_call_recording_jobs_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_call_recording_jobs_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_call_recording_jobs")),
    )
    with op.batch_alter_table("call_recording_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_call_recording_jobs_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_recording_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_call_recording_jobs_due")

    op.drop_table("call_recording_jobs")
