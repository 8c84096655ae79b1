"""conversation ratings: a customer rates a resolution of his conversation, once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:37:03.785511

A new table only: nothing existing changes, and there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("resolution_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "score BETWEEN 1 AND 5", name=op.f("ck_conversation_ratings_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_ratings_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_conversation_ratings_operator_id_operators"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolution_id"],
            ["messages.id"],
            name=op.f("fk_conversation_ratings_resolution_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_ratings")),
        sa.UniqueConstraint("resolution_id", name=op.f("uq_conversation_ratings_resolution_id")),
    )
    with op.batch_alter_table("conversation_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_ratings_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_ratings_report", ["created_at", "operator_id", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_ratings_report")
        batch_op.drop_index(batch_op.f("ix_conversation_ratings_conversation_id"))

    op.drop_table("conversation_ratings")
