"""The states a batch of customer messages works on (``inbound_plan``): contacts, senders
and conversations as the batch leaves them, and each item's part of the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.channels.base import InboundMessage


@dataclass(slots=True)
class ContactState:
    """A contact as the batch leaves it; ``id`` is None until a new one is inserted."""

    id: int | None
    name: str
    attributes: dict[str, Any]
    new: bool = False
    #: Phones (E.164 -> verified) and emails in the order they were added; None until read.
    phones: dict[str, bool] | None = None
    emails: list[str] | None = None
    changed: bool = False  # name or attributes: an UPDATE of a known contact
    search_changed: bool = False  # name, phones or emails: ``search_text`` again
    new_phones: list[tuple[str, bool]] = field(default_factory=list)
    verified_phones: list[str] = field(default_factory=list)
    new_emails: list[str] = field(default_factory=list)

    def search_text(self) -> str:
        phones, emails = list(self.phones or {}), self.emails or []
        return " ".join([self.name, *phones, *[p.lstrip("+") for p in phones], *emails]).lower()


@dataclass(slots=True)
class SenderState:
    channel_id: int
    external_id: str
    identity_id: int | None  # None until a new identity is inserted
    contact: ContactState


@dataclass(slots=True)
class ConversationState:
    """A conversation as the batch leaves it (the fields ``conversation_dict`` reads)."""

    id: int | None
    channel_id: int
    sender: SenderState
    thread_key: str | None
    team_id: int | None
    assignee_id: int | None
    status: str
    snoozed_until: datetime | None
    created_at: datetime
    last_activity_at: datetime
    last_message_preview: str
    unread_count: int
    attributes: dict[str, Any]
    new: bool = False
    attributes_changed: bool = False
    added: int = 0
    #: Whose it is, when a message joined it by proof (``InboundMessage.conversation_id``):
    #: (contact id, contact name, channel name, channel type).
    owner: tuple[int, str, str, str] | None = None

    @property
    def contact_id(self) -> int:
        if self.owner is not None:
            return self.owner[0]
        assert self.sender.contact.id is not None
        return self.sender.contact.id


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    """A conversation as one item left it: what that item's answer and events show."""

    id: int
    channel_id: int
    contact_id: int
    team_id: int | None
    assignee_id: int | None
    status: str
    snoozed_until: datetime | None
    created_at: datetime
    last_activity_at: datetime
    last_message_preview: str
    unread_count: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Entry:
    """One item's part of the plan."""

    item: InboundMessage
    sender: SenderState
    conversation: ConversationState
    created: bool
    reopened_from: str | None
    #: The message it answers: an id stored before, or the index of an earlier item.
    reply_to_id: int | None
    reply_to_item: int | None
    # The conversation and the contact's name as this item left them.
    status: str
    unread_count: int
    preview: str
    attributes: dict[str, Any]
    contact_name: str
    #: A conversation joined by proof: its customer's name as this item left it (an earlier
    #: item of the batch may have renamed him), else None.
    owner_name: str | None = None


@dataclass(slots=True)
class Plan:
    channels: dict[int, tuple[str, str, int | None]]  # id -> (name, type, team)
    entries: list[Entry | None]
    contacts: list[ContactState]
    senders: list[SenderState]  # new identities, in order
    conversations: list[ConversationState]  # touched, in order of first touch
