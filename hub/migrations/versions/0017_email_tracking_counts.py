"""email tracking: each tracked email's hits counted per kind and verdict beside the events

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:00:00.000000

A new table, filled from the events already stored (one grouped count), so the summaries read
the same before and after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_tracking_counts",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("first_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["email_tracking.message_id"],
            name=op.f("fk_email_tracking_counts_message_id_email_tracking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "message_id", "kind", "verdict", name=op.f("pk_email_tracking_counts")
        ),
    )
    op.execute(
        "INSERT INTO email_tracking_counts"
        " (message_id, kind, verdict, hits, first_at, last_at, client)"
        " SELECT message_id, kind, verdict, count(*), min(at), max(at), max(client)"
        " FROM email_tracking_events GROUP BY message_id, kind, verdict"
    )


def downgrade() -> None:
    op.drop_table("email_tracking_counts")
