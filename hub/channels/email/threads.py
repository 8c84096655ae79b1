"""Which conversation an incoming mail belongs to, said as the ``thread_key`` it carries in.

The order is calltracking-email.md B.2's recommended scheme, strongest proof first:

1. a signed reply token in any recipient (To, Cc, Delivered-To): the hub put it in the
   Reply-To of a mail of that conversation, and clients that drop every header (Outlook,
   mobile Gmail) still answer to it;
2. In-Reply-To, then References newest first: a Message-ID the hub signed, else one it stored
   (an earlier mail of the thread, or one the hub sent);
3. only then the same subject, stripped of "Re:"/"Ответ:"/"Fwd:", from the same sender within
   ``HUB_EMAIL_THREAD_WINDOW_DAYS``, and only for a mail that says it is a reply;
4. else a new thread, keyed by the mail's own Message-ID.

A mark that names a conversation of another channel (a forged or misrouted token) opens a new
thread: one mailbox never files mail into another channel's conversations, except a website
chat's that the mailbox answers (``linked_widget_channel_ids``: a visitor who had left the
page got the operator's reply by email, and his answer goes back to his chat: ``proven``, it
joins that conversation itself). Otherwise the key only selects among the sender's own
conversations (``receive_message`` looks a conversation up by the sender's identity and the
key), so nothing here can put a stranger's mail into another customer's conversation, and no
contact is ever joined on an unverified address.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, BindParameter, Select, String, any_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channels.email import tokens
from hub.channels.email.parse import ParsedMail
from hub.db import on_postgresql
from hub.inbox.item_models import EmailItem
from hub.inbox.models import ContactIdentity, Conversation, Message

_PREFIX = re.compile(
    r"^\s*((re|fwd?|fw|aw|wg|sv|vs|tr|ha|отв|ответ|пересл|переслать)\s*(\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)
#: The longest key a conversation holds (``conversations.thread_key``).
_KEY_CHARS = 300
#: Conversations of the sender looked at for a subject match, newest first.
_SUBJECT_CANDIDATES = 200


@dataclass(frozen=True, slots=True)
class Thread:
    """The key to give ``InboundMessage.thread_key``, how it was found (``token``,
    ``in_reply_to``, ``references``, ``subject`` or ``new``), and the conversation it names
    (None for a new thread)."""

    key: str | None
    via: str
    conversation_id: int | None = None
    #: A website chat's conversation named by a mark the hub signed: the mail joins it itself
    #: (``InboundMessage.conversation_id``); its sender's email identity never wrote it.
    proven: bool = False


def normalize_subject(subject: str) -> str:
    """A subject without its reply and forward prefixes, blanks collapsed, case folded."""
    return " ".join(_PREFIX.sub("", subject).split()).casefold()


def says_reply(subject: str) -> bool:
    """Whether a (decoded) subject starts with a reply or forward prefix."""
    return _PREFIX.match(subject) is not None


def looks_like_reply(mail: ParsedMail) -> bool:
    return bool(mail.in_reply_to or mail.references or says_reply(mail.subject))


def new_thread_key(mail: ParsedMail, raw_digest: str) -> str:
    """A new thread's key: the mail's Message-ID (the root of the thread it starts)."""
    base = mail.message_id or f"sha256:{raw_digest}"
    key = f"email:{base}"
    if len(key) > _KEY_CHARS:
        key = "email:sha256:" + hashlib.sha256(base.encode()).hexdigest()
    return key


def needs_lookup(key: str, mail: ParsedMail) -> bool:
    """Whether finding ``mail``'s thread reads the database at all: a mail that names no
    earlier mail, carries no reply token and does not say it is a reply starts a thread (most
    of a mailbox), so it holds no pooled connection for nothing."""
    recipients = [a.address for a in (*mail.to, *mail.cc)] + list(mail.delivered_to)
    return looks_like_reply(mail) or any(
        tokens.conversation_of_address(key, address) is not None for address in recipients
    )


async def thread_of(
    session: AsyncSession,
    *,
    key: str,
    channel_id: int,
    mail: ParsedMail,
    raw_digest: str,
    window: timedelta,
    now: datetime,
    linked: frozenset[int] = frozenset(),
) -> Thread:
    """The thread ``mail`` continues on channel ``channel_id`` (or in a chat of the widget
    channels in ``linked``), or a new one."""
    recipients = [a.address for a in (*mail.to, *mail.cc)] + list(mail.delivered_to)
    for address in recipients:
        conv_id = tokens.conversation_of_address(key, address)
        if conv_id is not None:
            found = await _signed_target(session, conv_id, channel_id, linked, "token")
            if found is not None:
                return found
    by_header = await _by_message_ids(session, key, channel_id, mail, linked)
    if by_header is not None:
        return by_header
    if looks_like_reply(mail):
        by_subject = await _by_subject(session, channel_id, mail, now - window)
        if by_subject is not None:
            return by_subject
    return Thread(new_thread_key(mail, raw_digest), "new")


async def _signed_target(
    session: AsyncSession, conv_id: int, channel_id: int, linked: frozenset[int], via: str
) -> Thread | None:
    """The conversation a signed mark names, if this mailbox may file mail into it."""
    conv = await session.get(Conversation, conv_id)
    if conv is None:
        return None
    if conv.channel_id == channel_id and conv.thread_key:
        return Thread(conv.thread_key, via, conv_id)
    if conv.channel_id in linked:
        return Thread(None, via, conv_id, proven=True)
    return None


async def _by_message_ids(
    session: AsyncSession,
    key: str,
    channel_id: int,
    mail: ParsedMail,
    linked: frozenset[int] = frozenset(),
) -> Thread | None:
    """In-Reply-To first, then References from the newest: each a signed id of the hub or
    an id stored with a message of this channel (all looked up in one query)."""
    candidates: list[tuple[str, str]] = [(i, "in_reply_to") for i in mail.in_reply_to]
    candidates += [(i, "references") for i in reversed(mail.references)]
    if not candidates:
        return None
    ids = list(dict.fromkeys(i for i, _ in candidates))[:100]
    stored = await _stored_ids(session, channel_id, ids)
    for header_id, via in candidates:
        conv_id = tokens.conversation_of_message_id(key, header_id)
        if conv_id is not None:
            found = await _signed_target(session, conv_id, channel_id, linked, via)
            if found is not None:
                return found
        if header_id in stored:
            conv_id, thread_key = stored[header_id]
            return Thread(thread_key, via, conv_id)
    return None


def _stored_ids_statement(postgres: bool) -> Select[str | None, str | None, int, str | None]:
    """Built once, in Core terms, with its values bound at each run: made and keyed anew for
    every mail, the statement cost more than the database's answer (one reply in three of
    a mailbox looks it up)."""
    message, conversation, email = (
        Message.__table__.c,
        Conversation.__table__.c,
        EmailItem.__table__.c,
    )
    headers, provider_ids = email.message_id_header, message.provider_message_id
    if postgres:
        ids: BindParameter[Any] = bindparam("ids", type_=ARRAY(String()))
        named = or_(headers == any_(ids), provider_ids == any_(ids))
    else:
        ids = bindparam("ids", expanding=True)
        named = or_(headers.in_(ids), provider_ids.in_(ids))
    return (
        select(
            email.message_id_header,
            message.provider_message_id,
            conversation.id,
            conversation.thread_key,
        )
        .select_from(
            Message.__table__.join(
                Conversation.__table__, conversation.id == message.conversation_id
            ).outerjoin(EmailItem.__table__, email.message_id == message.id)
        )
        .where(
            message.channel_id == bindparam("channel_id"),
            conversation.channel_id == bindparam("channel_id"),
            conversation.thread_key.is_not(None),
            named,
        )
        .order_by(message.id)
    )


#: By whether the database is PostgreSQL: there one array (``= ANY``), one statement text for
#: any number of ids, prepared once; SQLite takes an ``IN`` list (``hub.db.one_of`` says why).
_STORED_IDS = {postgres: _stored_ids_statement(postgres) for postgres in (False, True)}


async def _stored_ids(
    session: AsyncSession, channel_id: int, ids: list[str]
) -> dict[str, tuple[int, str]]:
    """The conversation (id, thread key) of each of ``ids`` that a message of this channel
    carries as its stored Message-ID or provider id; the newest message wins."""
    statement = _STORED_IDS[on_postgresql(session)]
    rows = await session.execute(statement, {"channel_id": channel_id, "ids": ids})
    found: dict[str, tuple[int, str]] = {}
    for header, provider_id, conv_id, thread_key in rows:
        for value in (header, provider_id):
            if value in ids and thread_key:
                found[value] = (conv_id, thread_key)
    return found


def _by_subject_statement() -> Select[int, str | None, str]:
    """As ``_stored_ids_statement``: built once, values bound at each run."""
    conversation, email = Conversation.__table__.c, EmailItem.__table__.c
    identity, message = ContactIdentity.__table__.c, Message.__table__.c
    return (
        select(conversation.id, conversation.thread_key, email.subject)
        .select_from(
            Conversation.__table__.join(
                ContactIdentity.__table__, identity.id == conversation.identity_id
            )
            .join(Message.__table__, message.conversation_id == conversation.id)
            .join(EmailItem.__table__, email.message_id == message.id)
        )
        .where(
            identity.channel_id == bindparam("channel_id"),
            identity.external_id == bindparam("sender"),
            conversation.channel_id == bindparam("channel_id"),
            conversation.thread_key.is_not(None),
            conversation.last_activity_at >= bindparam("since"),
        )
        .order_by(conversation.last_activity_at.desc(), message.id.desc())
        .limit(_SUBJECT_CANDIDATES)
    )


_BY_SUBJECT = _by_subject_statement()


async def _by_subject(
    session: AsyncSession, channel_id: int, mail: ParsedMail, since: datetime
) -> Thread | None:
    """The sender's own recent conversation on this channel with the same subject."""
    subject = normalize_subject(mail.subject)
    if not subject:
        return None
    rows = await session.execute(
        _BY_SUBJECT, {"channel_id": channel_id, "sender": mail.sender.address, "since": since}
    )
    for conv_id, thread_key, stored_subject in rows:
        if thread_key and normalize_subject(stored_subject) == subject:
            return Thread(thread_key, "subject", conv_id)
    return None
