"""email out: the suppression list (addresses that bounced for good) and each mailbox's secrets

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:05:02.149688

New tables only: nothing existing changes, and there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("first_seen_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_suppressions")),
        sa.UniqueConstraint("address", name=op.f("uq_email_suppressions_address")),
    )
    op.create_table(
        "email_credentials",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("imap_password", sa.Text(), nullable=False),
        sa.Column("smtp_password", sa.Text(), nullable=False),
        sa.Column("dkim_private_key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_email_credentials_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_email_credentials")),
    )


def downgrade() -> None:
    op.drop_table("email_credentials")
    op.drop_table("email_suppressions")
