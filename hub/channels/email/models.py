"""The email channel's mailbox state: where reading stopped, who reads it, how it went.

Progress is the folder's UIDVALIDITY and the last UID stored, never the ``\\Seen`` flag (which
people reading the same mailbox change). One hub process reads a mailbox at a time: it holds
the row's lease (owner and expiry), renews it while it reads, and another takes over when it
runs out. The last success and the last error are what the admin sees as the channel's status.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base


class EmailMailbox(Base):
    __tablename__ = "email_mailboxes"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    #: The folder the progress belongs to; another folder starts afresh.
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: The highest UID stored (or skipped with a reason); the next fetch starts after it.
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When the last pass that read the folder ended well: where a changed UIDVALIDITY
    #: resumes from (by date), instead of reading the whole folder again.
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    #: The channel's status for the admin.
    last_ok_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
