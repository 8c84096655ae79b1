"""Tables of the inbox domain.

A contact is one person across channels: several identities (a channel and the id the channel
knows him by), several phones (E.164) and emails. A conversation belongs to one channel and one
contact; its messages are customer messages, operator replies, internal notes and system
activities, the last two never leaving the hub.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, utcnow


class Role(enum.StrEnum):
    OPERATOR = "operator"
    MANAGER = "manager"
    ADMIN = "admin"


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class MessageKind(enum.StrEnum):
    """What a message is; only ``OUTGOING`` is ever sent to a customer."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    NOTE = "note"
    ACTIVITY = "activity"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default=Role.OPERATOR.value)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set by the operator himself: automatic assignment passes him by (``hub.inbox.router``).
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Invited by email and not joined yet: no password of his own, so he cannot log in until
    #: he sets one through his invitation's link (``hub.inbox.invites``).
    invited: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: His own limit of open conversations for this team's automatic assignment; None takes
    #: the team's (``hub.inbox.routing_models.TeamRouting.capacity``).
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)


class OperatorToken(Base):
    """A login session; only the SHA-256 of the token is stored."""

    __tablename__ = "operator_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OperatorLink(Base):
    """A one-time link that lets an operator set his password: an invitation or a password
    reset sent by email (``hub.inbox.invites``). Only the SHA-256 of its token is stored."""

    __tablename__ = "operator_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    #: ``invite`` or ``reset``.
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    #: A newer link of his, or his deactivation, ended this one.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Channel(Base):
    """A connected channel. ``secret`` authenticates its webhooks and signs its callbacks."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    secret: Mapped[str] = mapped_column(String(200))
    #: A public id for channels that pages embed (the widget's website token).
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Lower-cased name, phones and emails, so search is case-blind in every script.
    search_text: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Set when this contact was merged into another; the row stays so the merge can be undone.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None, index=True
    )


class ContactIdentity(Base):
    """The id a channel knows a contact by (a Telegram user id, an API system's customer id)."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactPhone(Base):
    __tablename__ = "contact_phones"
    __table_args__ = (UniqueConstraint("contact_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    #: Proven by its owner (Telegram's "share my contact" of the sender himself); a phone
    #: typed into a form is not, and links contacts for operators only.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)


class ContactEmail(Base):
    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("contact_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: Proven by its owner; no channel proves an email yet, so every one links contacts for
    #: operators only.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_activity", "last_activity_at", "id"),
        Index("ix_conversations_contact_channel", "contact_id", "channel_id"),
        #: A sender's newest conversation: what every inbound message looks up.
        Index("ix_conversations_identity", "identity_id", "id"),
        #: A sender's conversation of one thread (an email thread, a call's number pair).
        Index("ix_conversations_thread", "identity_id", "thread_key"),
        #: Reports: the conversations started in a period with their first response, read from
        #: this index alone.
        Index(
            "ix_conversations_first_response",
            "created_at",
            "first_incoming_at",
            "first_reply_at",
            "first_replier_id",
        ),
        #: Offers of automatic assignment not opened yet, by when they were made. Migration
        #: 0013 makes it partial (``WHERE routing = 'offered'``) on both backends, so it holds
        #: offers only and customer messages never pay for it; declared here without the
        #: predicate, whose dialect arguments would load PostgreSQL's dialect into every SQLite
        #: hub (autogenerate does not compare predicates).
        Index("ix_conversations_offers", "offered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    #: The identity that wrote it (a widget visitor, a Telegram user, an API system's customer):
    #: the customer side reads and is answered by this, never by the contact, which merges may
    #: widen (an unverified email or phone links contacts for operators only).
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_identities.id", ondelete="SET NULL"), default=None
    )
    #: The channel's thread this conversation is (an email thread's first Message-ID, a
    #: call's number pair); None for channels that keep one conversation per sender.
    thread_key: Mapped[str | None] = mapped_column(String(300), default=None)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ConversationStatus.OPEN.value)
    snoozed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    #: Customer messages since an operator last replied.
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Where the customer came from (first and last touch: page, referrer, UTM) and the like.
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: For the first-response report, kept by the write path: the first customer message's
    #: time, and the first reply an operator sent at or after it, with its sender.
    first_incoming_at: Mapped[datetime | None] = mapped_column(default=None)
    first_reply_at: Mapped[datetime | None] = mapped_column(default=None)
    first_replier_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    #: Automatic assignment's state (``hub.inbox.routing_models.RoutingState``): None for a
    #: conversation it has not touched, "offered" (assigned, not opened yet, since
    #: ``offered_at``), "accepted" (opened), "manual" (a person assigned or unassigned it:
    #: automatic assignment leaves it alone from then on).
    routing: Mapped[str | None] = mapped_column(String(20), default=None)
    offered_at: Mapped[datetime | None] = mapped_column(default=None)


class ConversationRead(Base):
    """How far an operator has read a conversation: the newest message id he has seen there.

    His unread count is computed from it (customer messages after it, and after the last
    reply), so storing a customer message never writes a row per operator."""

    __tablename__ = "conversation_reads"

    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "provider_message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_delivery", "delivery_status", "next_attempt_at"),
        #: A conversation's first customer message and first operator reply, one seek each in
        #: this index alone (it holds the sender too): how ``report_columns`` fills them.
        Index(
            "ix_messages_conv_kind_created",
            "conversation_id",
            "kind",
            "created_at",
            "sender_operator_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    sender_operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    sender_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    #: The provider's id of an incoming message: unique per channel, so a redelivery is a no-op.
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivery_status: Mapped[str | None] = mapped_column(String(20), default=None)
    delivery_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The message an operator's reply answers (Telegram shows it as a quoted reply).
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )

    @property
    def private(self) -> bool:
        """Notes and activities are for operators only."""
        return self.kind in (MessageKind.NOTE.value, MessageKind.ACTIVITY.value)


class AttachmentKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    STICKER = "sticker"
    DOCUMENT = "document"


class Attachment(Base):
    """A file of a message: an operator's upload (no message until he sends it) or media a
    channel downloaded. The bytes live in the media store under ``storage_key``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Width and height, duration, the provider's file id and the like.
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(Base):
    """A saved reply an operator inserts by typing ``/`` and its short code; managers keep them."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    short_code: Mapped[str] = mapped_column(String(50), unique=True)
    content: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("operators.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
