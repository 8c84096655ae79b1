"""The JSON answers of unread per operator (conventions in ``hub.responses``; the dicts of
``hub.inbox.reads``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.inbox.models import ConversationStatus
from hub.responses import Out


class ReadOut(Out):
    conversation_id: int
    last_read_message_id: int = Field(description="The caller's read marker now")
    my_unread_count: int = Field(
        description="What is left unread for him (0 unless he read up to an older message)"
    )


class TabCountOut(Out):
    total: int = Field(description="Conversations in the tab")
    unread: int = Field(description="Of them, those with messages the caller has not read")


class TabsOut(Out):
    mine: TabCountOut
    unassigned: TabCountOut
    all: TabCountOut = Field(description="Every conversation the caller may see")


class TabCountsOut(Out):
    status: ConversationStatus
    tabs: TabsOut
    unread: int = Field(
        description="Conversations with unread messages in mine and unassigned: the count the "
        "inbox shows in its title"
    )
    landing: Literal["mine", "unassigned"] = Field(
        description="The tab the inbox opens on: unassigned when mine is empty and it is not"
    )
