"""The email channel's answers (conventions in ``hub.responses``)."""

from __future__ import annotations

from pydantic import Field

from hub.inbox.responses import ListedConversationOut, MessageOut
from hub.responses import Out


class NewEmailOut(Out):
    conversation: ListedConversationOut = Field(
        description="The new conversation: the email's thread, assigned to its writer"
    )
    message: MessageOut = Field(
        description="The email, pending in the outbox (delivery.status), with its subject "
        "and Message-ID (email)"
    )
