"""automatic assignment: each team's rules, operators' capacity and away, conversations' offers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:10:00.000000

A new table (``team_routing``), new columns that start empty (a team member's own capacity, a
conversation's routing state and offer time) or false (an operator's ``away``), and a partial
index of the offers not opened yet. The teams' queues (open conversations nobody has) get no
index of their own: most conversations of a hub that does not route are unassigned and open, and
such an index would take one more entry on every customer message; the router finds them by the
assignee's index instead.
Nothing existing changes meaning: no team is routed until an admin turns it on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFERS = "routing = 'offered'"


def upgrade() -> None:
    op.create_table(
        "team_routing",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("accept_timeout_s", sa.Integer(), nullable=False),
        sa.Column("last_operator_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["last_operator_id"],
            ["operators.id"],
            name=op.f("fk_team_routing_last_operator_id_operators"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_routing_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_routing")),
    )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("away", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.alter_column("away", server_default=None)
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("offered_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_conversations_offers",
            ["offered_at"],
            unique=False,
            sqlite_where=sa.text(OFFERS),
            postgresql_where=sa.text(OFFERS),
        )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild: dropping the old
    # table of a rebuild would cascade into the rows that refer to it when foreign keys are on.
    op.drop_index("ix_conversations_offers", table_name="conversations")
    op.drop_column("conversations", "offered_at")
    op.drop_column("conversations", "routing")
    op.drop_column("team_members", "capacity")
    op.drop_column("operators", "away")
    op.drop_table("team_routing")
