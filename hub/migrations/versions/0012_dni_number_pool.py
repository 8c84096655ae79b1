"""dynamic number insertion: a site's pool of tracking numbers, reservations, misses

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:52:42.146519

New tables only: nothing existing changes, and there is nothing to fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "number_pools",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("default_number", sa.String(length=32), nullable=True),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_number_pools_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_number_pools")),
    )
    op.create_table(
        "number_pool_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_number_pool_misses_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["widget_visitors.id"],
            name=op.f("fk_number_pool_misses_visitor_id_widget_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_pool_misses")),
    )
    with op.batch_alter_table("number_pool_misses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_number_pool_misses_channel_id_at", ["channel_id", "at"], unique=False
        )

    op.create_table(
        "pool_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["number_pools.channel_id"],
            name=op.f("fk_pool_numbers_channel_id_number_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_pool_numbers_number")),
    )
    with op.batch_alter_table("pool_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_numbers_channel_id"), ["channel_id"], unique=False
        )

    op.create_table(
        "number_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("pool_number_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column(
            "utm",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("referrer", sa.String(length=2000), nullable=True),
        sa.Column("landing_page", sa.String(length=2000), nullable=True),
        sa.Column("page", sa.String(length=2000), nullable=True),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("reserved_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_number_reservations_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_number_reservations_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pool_number_id"],
            ["pool_numbers.id"],
            name=op.f("fk_number_reservations_pool_number_id_pool_numbers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["widget_visitors.id"],
            name=op.f("fk_number_reservations_visitor_id_widget_visitors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_reservations")),
    )
    with op.batch_alter_table("number_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_number_reservations_channel_id_expires_at",
            ["channel_id", "expires_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_number_reservations_number_reserved_at", ["number", "reserved_at"], unique=False
        )
        batch_op.create_index(
            "ix_number_reservations_visitor_id_expires_at",
            ["visitor_id", "expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("number_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_number_reservations_visitor_id_expires_at")
        batch_op.drop_index("ix_number_reservations_number_reserved_at")
        batch_op.drop_index("ix_number_reservations_channel_id_expires_at")

    op.drop_table("number_reservations")
    with op.batch_alter_table("pool_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_numbers_channel_id"))

    op.drop_table("pool_numbers")
    with op.batch_alter_table("number_pool_misses", schema=None) as batch_op:
        batch_op.drop_index("ix_number_pool_misses_channel_id_at")

    op.drop_table("number_pool_misses")
    op.drop_table("number_pools")
