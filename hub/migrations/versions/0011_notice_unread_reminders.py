"""nothing new goes unnoticed: how far each operator has read each conversation, and when a
task's owner was told it fell due

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:00:00.000000

A new table, and a new column on tasks. Tasks already past their due time when this runs are
marked as told (at their due time): an upgrade must not flood their owners with old news.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_reads",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("last_read_message_id", sa.BigInteger(), nullable=False),
        sa.Column("read_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_reads_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_conversation_reads_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "operator_id", "conversation_id", name=op.f("pk_conversation_reads")
        ),
    )
    with op.batch_alter_table("conversation_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_reads_conversation_id"), ["conversation_id"], unique=False
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminded_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_tasks_status_reminded_due", ["status", "reminded_at", "due_at"], unique=False
        )
    tasks = sa.table(
        "tasks",
        sa.column("due_at", hub.db.UTCDateTime(timezone=True)),
        sa.column("reminded_at", hub.db.UTCDateTime(timezone=True)),
    )
    op.execute(
        tasks.update()
        .where(tasks.c.due_at.is_not(None), tasks.c.due_at <= datetime.now(UTC))
        .values(reminded_at=tasks.c.due_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_reminded_due")
        batch_op.drop_column("reminded_at")
    with op.batch_alter_table("conversation_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_reads_conversation_id"))
    op.drop_table("conversation_reads")
