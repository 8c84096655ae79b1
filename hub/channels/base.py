"""What every channel adapter speaks: inbound messages in, outbound messages out.

A channel module turns its provider's payloads into ``InboundMessage`` for
``inbox.actions.receive_message`` and sends ``OutboundMessage`` for the delivery worker. Only
operator replies become ``OutboundMessage``: notes and activities never reach an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class InboundContact:
    """The sender as the channel knows him; ``phone`` is already E.164, ``email`` lower-cased."""

    external_id: str
    name: str = ""
    phone: str | None = None
    email: str | None = None
    #: The channel proved the phone is his (Telegram's "share my contact" of the sender
    #: himself); a typed one links contacts for operators only.
    phone_verified: bool = False


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    """A file a channel downloaded into the media store (``hub.media``) for this message."""

    storage_key: str
    sha256: str
    size: int
    filename: str
    content_type: str
    kind: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundCall:
    """A phone call a telephony channel reports; numbers in E.164 (``hub.phones``)."""

    direction: str  # ``item_models.CallDirection``
    from_number: str
    to_number: str
    status: str  # ``item_models.CallStatus``
    duration_s: int = 0
    tracking_number: str | None = None
    recording_url: str | None = None
    #: A telephony channel's call (``hub.inbox.call_fold``) as its events so far tell it,
    #: written with the call's row in the same statement: the provider's id of the call, the
    #: extension that answered, the times, the recording's id, the visit it is attributed to.
    provider_call_id: str | None = None
    operator: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    recording_ref: str | None = None
    attribution: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundEmail:
    """An email a mail channel received: its text goes in ``InboundMessage.body``; its HTML
    as the sender wrote it (the hub sanitises it before storing)."""

    subject: str
    from_address: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    html: str = ""
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    channel_id: int
    contact: InboundContact
    body: str
    #: The provider's id of this message; a second delivery with the same id stores nothing.
    provider_message_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()
    #: Merged into the contact's and the conversation's attributes (e.g. a deep-link source).
    contact_attributes: Mapping[str, Any] = field(default_factory=dict)
    conversation_attributes: Mapping[str, Any] = field(default_factory=dict)
    #: Set on the contact's and the conversation's attributes only where they have none of
    #: that name yet (a website visitor's first and last touch on his new conversation).
    contact_attribute_defaults: Mapping[str, Any] = field(default_factory=dict)
    conversation_attribute_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The contact attribute where the channel keeps the name it last gave (a Telegram
    #: profile's): while the contact's name is still that one, a new name from the channel
    #: replaces it; a name an operator typed is kept. Without it a name only fills a gap.
    channel_name_key: str | None = None
    #: A contact that a new identity joins instead of making a new contact (a website visitor
    #: who followed a signed link to Telegram). Ignored when the identity is known already.
    join_contact_id: int | None = None
    #: The provider's id of the message this one answers (the customer quoted it).
    reply_to_provider_id: str | None = None
    #: The thread the item belongs to (an email thread, a call's number pair): a conversation
    #: is the sender's one of that thread. Without one, the sender's one conversation on the
    #: channel that has no thread.
    thread_key: str | None = None
    #: A conversation the channel proved this message continues (a signed reply token in an
    #: email): it joins that conversation even when another identity, or another channel,
    #: started it. A channel sets it only from such proof, never from what a sender claims.
    conversation_id: int | None = None
    #: What the item is, when it is more than text: a call or an email.
    call: InboundCall | None = None
    email: InboundEmail | None = None

    def contact_attributes_over(self, current: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The contact's attributes once this message is stored, or None if it changes none."""
        return _over(current, self.contact_attribute_defaults, self.contact_attributes)

    def conversation_attributes_over(
        self, current: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The conversation's attributes once this message is stored, or None if it changes
        none."""
        return _over(current, self.conversation_attribute_defaults, self.conversation_attributes)


def _over(
    current: Mapping[str, Any] | None, defaults: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``given`` set over ``current``, and ``defaults`` where it has no such name; None when
    that is what ``current`` holds already (every path that stores a message asks this)."""
    if not defaults and not given:
        return None
    merged = {**defaults, **(current or {}), **given}
    return None if merged == current else merged


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    """An operator's file on its way out; ``path`` is its file in the media store."""

    id: int
    filename: str
    content_type: str
    size: int
    kind: str
    path: Path


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An operator's reply on its way to the customer."""

    message_id: int
    conversation_id: int
    channel_id: int
    body: str
    contact_external_id: str | None
    operator_name: str
    created_at: str | None
    contact_id: int | None = None
    attachments: tuple[OutboundAttachment, ...] = ()
    #: The provider's id of the message this reply answers, when it answers one.
    reply_to_provider_id: str | None = None
    #: What the adapter recorded on earlier attempts (``SendResult.state`` or
    #: ``DeliveryError.state``), so a reply sent in parts resumes where it stopped.
    state: Mapping[str, Any] = field(default_factory=dict)
    #: Handed over at commit by the live path (``inbox.live_replies``), not by the outbox: a
    #: live adapter that would have to call a provider raises ``DeliverLater`` instead.
    live: bool = False
    #: A subject for channels that have one, when the conversation has none of its own (a
    #: website chat's reply that goes by email).
    subject: str | None = None
    #: The operator's switch (``meta.tracking``): a channel that can track opens and clicks
    #: (email) tracks this reply only if it is on and the channel's own setting is.
    tracking: bool = True


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a send leaves behind: the provider's id of the (first) message it made, and
    state kept in the message's ``meta.provider`` (e.g. every Telegram message id)."""

    provider_message_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


class DeliverLater(Exception):
    """A live adapter's answer to a reply it cannot finish at commit (the visitor left and it
    goes by email): the outbox sends it, with its retries."""


class DeliveryError(Exception):
    """A send that failed; ``retryable`` says whether trying again may help, ``retry_after``
    how long the provider asked to wait, ``state`` what was sent before the failure."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.state = state


class ChannelAdapter(Protocol):
    """The outbound half of a channel."""

    type: str

    async def send(
        self, channel_config: dict[str, Any], secret: str, out: OutboundMessage
    ) -> SendResult | None:
        """Deliver ``out`` or raise ``DeliveryError``."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SystemMail:
    """An email from the hub itself (an invitation, a password link): plain text, one
    recipient, no thread and no tracking."""

    to: str
    subject: str
    body: str


class SystemMailFailed(Exception):
    """System mail that did not go out; ``reason`` says why, in words for the admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class SystemMailer(Protocol):
    """An adapter that can send the hub's own mail from one of its channels (a mailbox an
    admin chose as the sender of system mail: ``system_mail`` in its settings)."""

    async def send_system_mail(
        self, channel_id: int, channel_config: dict[str, Any], mail: SystemMail
    ) -> str:
        """Send ``mail`` from the channel; answer the address it went from, or raise
        ``SystemMailFailed``."""
        ...
