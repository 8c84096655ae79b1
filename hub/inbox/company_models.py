"""The company's own settings an admin changes in the admin area: one row, ``id`` 1.

No row: the environment's values are used (``HUB_TIMEZONE``, ``HUB_WORKING_HOURS``); the first
save writes it. ``hub.company_hours`` keeps what each process uses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow

#: The one row's id.
COMPANY_ROW = 1


class CompanySettings(Base):
    """The company's time zone and working hours, as an admin saved them."""

    __tablename__ = "company_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: An IANA zone, e.g. ``Europe/Moscow``.
    timezone: Mapped[str] = mapped_column(String(64))
    #: Working hours as ``HUB_WORKING_HOURS`` reads them (``mon 09:00-18:00; tue …``); empty:
    #: the company answers any time.
    working_hours: Mapped[str] = mapped_column(Text, default="")
    #: Goes up by one on every save, so a process never trades a newer value for an older one.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
