"""conversation identity: each conversation remembers the identity that wrote it; phones and
emails say whether their owner proved them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:20:00.000000

A customer-side client (the widget, a Telegram chat, an API system) reads and is answered by
the identity that wrote a conversation, never by its contact, which a merge on an unverified
email or phone may have widened. Existing conversations get the identity of their contact on
their channel made last at or before the conversation (the one that opened it), else the
contact's first one there: before merges a contact has one identity per channel, and after one
the identity a conversation's customer came with was made just before it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Identity ids grow with time: the newest made at or before the conversation, else the first.
BACKFILL = (
    """
UPDATE conversations SET identity_id = (
    SELECT max(i.id) FROM contact_identities i
    WHERE i.contact_id = conversations.contact_id AND i.channel_id = conversations.channel_id
      AND i.created_at <= conversations.created_at
)
""",
    """
UPDATE conversations SET identity_id = (
    SELECT min(i.id) FROM contact_identities i
    WHERE i.contact_id = conversations.contact_id AND i.channel_id = conversations.channel_id
) WHERE identity_id IS NULL
""",
)


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_identity_id_contact_identities"),
            "contact_identities",
            ["identity_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_conversations_identity", ["identity_id", "id"], unique=False)
    for statement in BACKFILL:
        op.execute(statement)
    for table in ("contact_phones", "contact_emails"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
            )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("verified", server_default=None)


def downgrade() -> None:
    for table in ("contact_emails", "contact_phones"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("verified")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_identity")
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_identity_id_contact_identities"), type_="foreignkey"
        )
        batch_op.drop_column("identity_id")
