"""threads, calls and emails: a conversation may be one thread of its sender's; a message may
be a call or an email

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:10:00.000000

Existing conversations keep no thread key: they stay their sender's one conversation on their
channel, found as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_key", sa.String(length=300), nullable=True))
        batch_op.create_index(
            "ix_conversations_thread", ["identity_id", "thread_key"], unique=False
        )
    op.create_table(
        "message_calls",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("tracking_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_calls_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_calls")),
    )
    with op.batch_alter_table("message_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_calls_tracking_number"), ["tracking_number"], unique=False
        )
    op.create_table(
        "message_emails",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column(
            "recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("message_id_header", sa.String(length=998), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_emails_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_emails")),
    )
    with op.batch_alter_table("message_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_emails_message_id_header"), ["message_id_header"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_emails_message_id_header"))
    op.drop_table("message_emails")
    with op.batch_alter_table("message_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_calls_tracking_number"))
    op.drop_table("message_calls")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_thread")
        batch_op.drop_column("thread_key")
