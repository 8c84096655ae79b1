"""The contact card's JSON answer (``GET /api/v1/contacts/{id}``): the contact with how each
channel knows him, his conversations, and his leads and deals (conventions in
``hub.responses``). Apart from ``hub.inbox.responses`` because it carries the sales' answers,
which name the inbox's."""

from __future__ import annotations

from pydantic import Field

from hub.crm_sync.responses import ContactDealOut, ContactLeadOut
from hub.inbox.responses import ChannelConversationOut, ContactOut, IdentityOut, TrackingHitOut


class ContactCardOut(ContactOut):
    identities: list[IdentityOut]
    verified_phones: list[str] = Field(description="Phones a channel proved are his")
    verified_emails: list[str] = Field(description="Emails a channel proved are his")
    conversations: list[ChannelConversationOut] = Field(
        description="Those the caller may see, newest activity first"
    )
    leads: list[ContactLeadOut] = Field(description="Newest first")
    deals: list[ContactDealOut] = Field(description="Those the caller may see, newest first")
    email_tracking: list[TrackingHitOut] = Field(
        description="Opens and clicks of the emails sent to him in the conversations the "
        "caller may see, newest first (at most 100), machine ones with their verdict"
    )
