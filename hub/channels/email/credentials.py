"""Where a mailbox's secrets live: the IMAP and SMTP passwords and the DKIM key.

Kept out of the channel's ``config`` (which admins read back and the channel cache holds), one
row per channel, written in the same commit as the channel (``connect``) and read only by the
code that logs in or signs: the sender here, the mailbox reader on the receiving side
(``load_secrets``). Nothing serialises this row.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from hub.channels.email.config import Secrets
from hub.db import Base


class EmailCredentials(Base):
    __tablename__ = "email_credentials"

    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    imap_password: Mapped[str] = mapped_column(Text)
    smtp_password: Mapped[str] = mapped_column(Text)
    #: PEM; empty when the channel signs nothing.
    dkim_private_key: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"EmailCredentials(channel_id={self.channel_id})"


def credentials_row(channel_id: int, secrets: Secrets) -> EmailCredentials:
    return EmailCredentials(
        channel_id=channel_id,
        imap_password=secrets.imap_password,
        smtp_password=secrets.smtp_password,
        dkim_private_key=secrets.dkim_private_key,
    )


async def load_secrets(session: AsyncSession, channel_id: int) -> Secrets | None:
    """The secrets of an email channel; None for a channel without (not an email channel)."""
    row = await session.get(EmailCredentials, channel_id)
    if row is None:
        return None
    return Secrets(
        imap_password=row.imap_password,
        smtp_password=row.smtp_password,
        dkim_private_key=row.dkim_private_key,
    )
