"""The table of automatic assignment: each team's rules (``hub.inbox.router`` applies them).

A team without a row, or with ``enabled`` false, is not routed: its new conversations wait
unassigned until someone takes them, as before. The per-operator part lives beside what it
belongs to: ``TeamMember.capacity`` (an operator's own limit in a team), ``Operator.away`` and
the conversation's ``routing`` state and ``offered_at``.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow

#: The team's limit of open conversations per operator when an admin sets none.
DEFAULT_CAPACITY = 5
#: How long an operator has to open an offered conversation before it passes on, by default.
DEFAULT_ACCEPT_TIMEOUT_S = 120


class RoutingState(enum.StrEnum):
    """``Conversation.routing``: what automatic assignment did with a conversation."""

    #: Assigned automatically, not opened by its operator yet (since ``offered_at``).
    OFFERED = "offered"
    #: Its operator opened it: it is his.
    ACCEPTED = "accepted"
    #: A person assigned or unassigned it: automatic assignment never touches it again.
    MANUAL = "manual"


class TeamRouting(Base):
    """A team's automatic assignment: on or off, the operators' capacity, the accept timeout,
    and where round robin stopped."""

    __tablename__ = "team_routing"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Open conversations an operator of the team may have at once (his own
    #: ``TeamMember.capacity`` wins).
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY)
    #: Seconds an offered conversation waits to be opened before it passes to the next
    #: operator; 0: it never passes on.
    accept_timeout_s: Mapped[int] = mapped_column(Integer, default=DEFAULT_ACCEPT_TIMEOUT_S)
    #: The operator round robin gave the last conversation to; the next goes to the one after.
    last_operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
