"""operator invitations and password links: one-time links sent by email

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 15:40:00.000000

A new table (``operator_links``: the SHA-256 of each link's token, its purpose, expiry and use)
and a new column that starts false (an operator's ``invited``): every existing operator has a
password of his own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", hub.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_links_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_links_token_hash")),
    )
    with op.batch_alter_table("operator_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_links_operator_id"), ["operator_id"], unique=False
        )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.alter_column("invited", server_default=None)


def downgrade() -> None:
    op.drop_column("operators", "invited")
    op.drop_index("ix_operator_links_operator_id", table_name="operator_links")
    op.drop_table("operator_links")
