"""Customer messages stored a batch at a time, with a handful of set-based statements.

The ORM path (``actions.receive_one``) costs about ten statements and much ORM bookkeeping per
message; under load that, not the commit, bounds the hub. Here a whole group of messages costs
a few statements (``inbound_sql``, written per backend): a look-up of channels, senders, their
conversations and provider ids; then, worked out by ``inbound_plan`` in the items' order, the
inserts of what is new (contacts, their phones and emails, identities, conversations), the
messages with the rows that open a conversation again, one update of the conversations, and
the files, calls and emails of the messages.

Every channel's messages take this path, whatever they carry. The per-message path runs only
for what the plan leaves (a provider id stored before: a redelivery, answered by reading what
was stored; a channel that is missing or off, which it refuses), and for a whole batch if the
batch fails, after it rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from hub.channels.base import InboundMessage
from hub.db import utcnow
from hub.driver import DriverConnection
from hub.events import ConversationCreated, ConversationUpdated, Event, MessageCreated, Recipients
from hub.inbox.attachments import safe_filename
from hub.inbox.inbound_plan import Planner
from hub.inbox.inbound_postgres import PostgresBatchSql
from hub.inbox.inbound_sql import ATTACHMENT_COLUMNS, BatchSql, NewMessage, Touch, marks
from hub.inbox.inbound_sqlite import SqliteBatchSql
from hub.inbox.inbound_state import ConversationSnapshot, Entry, Plan
from hub.inbox.items import call_channel_id, email_dict, email_row, new_call_dict
from hub.inbox.models import MessageKind
from hub.inbox.serialize import attachment_dict, conversation_dict, message_dict
from hub.jsoncodec import dumps
from hub.writes import RUN_ALONE, RunAlone

__all__ = [
    "ReceiveResult",
    "Stored",
    "run_batch_sql",
    "store_batch",
    "stored_answer",
    "write_batch",
]

T = TypeVar("T")
REOPEN_NOTE = "The customer wrote again; the conversation is open again"


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    message: dict[str, Any]
    conversation: dict[str, Any]
    duplicate: bool
    created_conversation: bool


Stored = tuple[ReceiveResult, list[Event]]


@dataclass(frozen=True, slots=True)
class _Named:
    id: int
    name: str
    type: str = ""


@dataclass(frozen=True, slots=True)
class _Row:
    """A message as the batch wrote it: what ``message_dict`` reads."""

    id: int
    conversation_id: int
    body: str
    sender_contact_id: int | None
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = MessageKind.INCOMING.value
    reply_to_id: int | None = None
    private: bool = False
    sender_operator_id: int | None = None
    delivery_status: str | None = None
    delivery_error: str | None = None
    delivery_attempts: int = 0


@dataclass(frozen=True, slots=True)
class _File:
    id: int
    kind: str
    filename: str
    content_type: str
    size: int


@dataclass(slots=True)
class _Written:
    """What the batch's statements stored for one item, for the answer built on the loop."""

    entry: Entry
    message_id: int
    channel: _Named
    reply_to_id: int | None = None
    activity_id: int | None = None
    files: list[_File] = field(default_factory=list)
    item: dict[str, Any] = field(default_factory=dict)


def _reopen_meta(reopened_from: str) -> dict[str, Any]:
    return {
        "action": "status",
        "status": "open",
        "reason": "customer_message",
        "from_status": reopened_from,
    }


def _write_contacts(sql: BatchSql, plan: Plan, now: datetime) -> None:
    new = [c for c in plan.contacts if c.new]
    if new:
        ids = sql.insert_contacts([(c.name, c.search_text(), c.attributes) for c in new], now)
        for contact, contact_id in zip(new, ids, strict=True):
            contact.id = contact_id
    changed = [c for c in plan.contacts if not c.new and (c.changed or c.search_changed)]
    if changed:
        sql.execute_many(
            "UPDATE contacts SET name = ?, attributes = ?j,"
            " search_text = coalesce(?, search_text), updated_at = ? WHERE id = ?",
            [
                (
                    c.name,
                    dumps(c.attributes),
                    c.search_text() if c.search_changed else None,
                    sql.time(now),
                    c.id,
                )
                for c in changed
            ],
        )
    phones = [(c.id, e164, verified) for c in plan.contacts for e164, verified in c.new_phones]
    if phones:
        sql.execute_many(
            "INSERT INTO contact_phones (contact_id, e164, verified) VALUES (?, ?, ?)", phones
        )
    proven = [(True, c.id, e164) for c in plan.contacts for e164 in c.verified_phones]
    if proven:
        sql.execute_many(
            "UPDATE contact_phones SET verified = ? WHERE contact_id = ? AND e164 = ?", proven
        )
    emails = [(c.id, email, False) for c in plan.contacts for email in c.new_emails]
    if emails:
        sql.execute_many(
            "INSERT INTO contact_emails (contact_id, email, verified) VALUES (?, ?, ?)", emails
        )
    if plan.senders:
        ids = sql.insert_identities(
            [(s.contact.id or 0, s.channel_id, s.external_id) for s in plan.senders], now
        )
        for sender, identity_id in zip(plan.senders, ids, strict=True):
            sender.identity_id = identity_id


def _write_conversations(sql: BatchSql, plan: Plan, now: datetime) -> None:
    new = [c for c in plan.conversations if c.new]
    if not new:
        return
    rows = [
        (
            c.channel_id,
            c.contact_id,
            c.sender.identity_id or 0,
            c.team_id,
            c.status,
            c.thread_key,
            c.attributes,
        )
        for c in new
    ]
    for conv, conv_id in zip(new, sql.insert_conversations(rows, now), strict=True):
        conv.id = conv_id


def _write_messages(
    sql: BatchSql, plan: Plan, entries: list[tuple[int, Entry]], now: datetime
) -> list[_Written]:
    rows: list[NewMessage] = []
    for _, e in entries:
        conv_id, ch = e.conversation.id or 0, e.item.channel_id
        item = e.item
        meta = dict(item.meta)
        rows.append(
            (
                conv_id,
                ch,
                MessageKind.INCOMING.value,
                item.body,
                e.sender.contact.id,
                item.provider_message_id,
                meta,
                e.reply_to_id,
            )
        )
        if e.reopened_from is not None:
            activity = _reopen_meta(e.reopened_from)
            rows.append(
                (conv_id, ch, MessageKind.ACTIVITY.value, REOPEN_NOTE, None, None, activity, None)
            )
    touches: list[Touch] = [
        (
            c.id or 0,
            c.last_message_preview,
            c.added,
            c.attributes if c.attributes_changed else None,
        )
        for c in plan.conversations
    ]
    ids = iter(sql.store_messages(rows, touches, now))
    written: list[_Written] = []
    for _, e in entries:
        name, kind, _team = plan.channels[e.item.channel_id]
        done = _Written(e, next(ids), _Named(e.item.channel_id, name, kind), e.reply_to_id)
        if e.reopened_from is not None:
            done.activity_id = next(ids)
        written.append(done)
    by_index = {index: done.message_id for (index, _), done in zip(entries, written, strict=True)}
    later = [
        (by_index[done.entry.reply_to_item], done)
        for done in written
        if done.reply_to_id is None and done.entry.reply_to_item is not None
    ]
    if later:  # it answers a message of the same batch, whose id came with this one's
        sql.execute_many(
            "UPDATE messages SET reply_to_id = ? WHERE id = ?",
            [(target, done.message_id) for target, done in later],
        )
        for target, done in later:
            done.reply_to_id = target
    return written


def _write_files_and_items(sql: BatchSql, written: list[_Written], now: datetime) -> None:
    rows, owners = [], []
    for done in written:
        for f in done.entry.item.attachments:
            name = safe_filename(f.filename)
            conv_id = done.entry.conversation.id
            rows.append(
                (
                    done.message_id,
                    conv_id,
                    name,
                    f.content_type,
                    f.size,
                    f.sha256,
                    f.storage_key,
                    f.kind,
                    dumps(dict(f.meta)),
                    sql.time(now),
                )
            )
            owners.append((done, _File(0, f.kind, name, f.content_type, f.size)))
    if rows:
        columns = ", ".join(ATTACHMENT_COLUMNS)
        marked = marks(len(ATTACHMENT_COLUMNS) - 2) + ",?j,?"
        ids = sql.insert_ids(f"INSERT INTO attachments ({columns}) VALUES ({marked})", rows)
        for (done, file), file_id in zip(owners, ids, strict=True):
            done.files.append(
                _File(file_id, file.kind, file.filename, file.content_type, file.size)
            )
    calls, emails = [], []
    for done in written:
        item = done.entry.item
        if item.call is not None:
            call = item.call
            calls.append(
                (
                    done.message_id,
                    call.direction,
                    call.from_number,
                    call.to_number,
                    call.tracking_number,
                    call.status,
                    call.duration_s,
                    call.recording_url,
                    call_channel_id(call, item.channel_id),
                    call.provider_call_id,
                    call.operator,
                    *(
                        None if t is None else sql.time(t)
                        for t in (call.started_at, call.answered_at, call.ended_at)
                    ),
                    call.recording_ref,
                    dumps(dict(call.attribution)),
                )
            )
            done.item = {"call": new_call_dict(call)}
        elif item.email is not None:
            email = email_row(done.message_id, item.email)
            emails.append(
                (
                    email.message_id,
                    email.subject,
                    email.html,
                    email.from_address,
                    dumps(email.recipients),
                    email.message_id_header,
                )
            )
            done.item = {"email": email_dict(email)}
    if calls:
        sql.execute_many(
            "INSERT INTO message_calls (message_id, direction, from_number, to_number,"
            " tracking_number, status, duration_s, recording_url, channel_id, provider_call_id,"
            " operator, started_at, answered_at, ended_at, recording_ref, attribution)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?j)",
            calls,
        )
    if emails:
        sql.execute_many(
            "INSERT INTO message_emails (message_id, subject, html, from_address, recipients,"
            " message_id_header) VALUES (?, ?, ?, ?, ?j, ?)",
            emails,
        )


def write_batch(sql: BatchSql, items: list[InboundMessage], now: datetime) -> list[_Written | None]:
    """Store every item the plan takes (``None`` for the rest); runs on the driver's side."""
    look = sql.lookup(
        {item.channel_id for item in items},
        {(item.channel_id, item.provider_message_id) for item in items if item.provider_message_id},
        {(item.channel_id, item.contact.external_id) for item in items},
    )
    plan = Planner(sql, look, items, now).plan()
    entries = [(i, e) for i, e in enumerate(plan.entries) if e is not None]
    out: list[_Written | None] = [None] * len(items)
    if not entries:
        return out
    if any(
        e.item.attachments or e.item.call or e.item.email or e.reply_to_item is not None
        for _, e in entries
    ):
        sql.open_transaction()  # rows follow the messages: they must commit together
    _write_contacts(sql, plan, now)
    _write_conversations(sql, plan, now)
    written = _write_messages(sql, plan, entries, now)
    _write_files_and_items(sql, written, now)
    for (index, _), done in zip(entries, written, strict=True):
        out[index] = done
    return out


async def run_batch_sql(conn: DriverConnection, work: Callable[[BatchSql], T]) -> T:
    """Run ``work`` on the lane's connection and commit it; roll it all back if it raises."""

    def in_transaction(driver: Any) -> T:
        sql: SqliteBatchSql | PostgresBatchSql = (
            SqliteBatchSql(driver) if conn.dialect == "sqlite" else PostgresBatchSql(driver)
        )
        sql.begin()
        try:
            result = work(sql)
        except BaseException:
            sql.rollback()
            raise
        sql.commit()
        return result

    return await conn.run(in_transaction)


def stored_answer(done: _Written, now: datetime) -> Stored:
    e = done.entry
    conv_state = e.conversation
    conv = ConversationSnapshot(
        conv_state.id or 0,
        conv_state.channel_id,
        conv_state.contact_id,
        conv_state.team_id,
        conv_state.assignee_id,
        e.status,
        conv_state.snoozed_until,
        conv_state.created_at,
        now,
        e.preview,
        e.unread_count,
        e.attributes,
    )
    sender = _Named(e.sender.contact.id or 0, e.contact_name)
    msg = _Row(
        done.message_id,
        conv.id,
        e.item.body,
        sender.id,
        now,
        dict(e.item.meta),
        reply_to_id=done.reply_to_id,
    )
    contact, channel = sender, done.channel
    if conv_state.owner is not None and e.item.conversation_id == conv.id:
        # Joined by proof: shown as its customer's, on its channel.
        owner_id, owner_name, channel_name, channel_type = conv_state.owner
        contact = _Named(owner_id, e.owner_name if e.owner_name is not None else owner_name)
        channel = _Named(conv.channel_id, channel_name, channel_type)
    conv_data = conversation_dict(conv, contact, channel)
    files = [attachment_dict(f) for f in done.files]
    msg_data = message_dict(
        msg, contact_names={sender.id: sender.name}, attachments=files, item=done.item
    )
    recipients = Recipients.for_conversation(conv.team_id, conv.assignee_id)
    events: list[Event] = []
    if e.created:
        events.append(ConversationCreated(recipients, conv_data))
    elif e.reopened_from is not None:
        events.append(ConversationUpdated(recipients, conv_data))
    events.append(MessageCreated(recipients, conv.id, msg_data, conv_data))
    if done.activity_id is not None and e.reopened_from is not None:
        activity = _Row(
            done.activity_id,
            conv.id,
            REOPEN_NOTE,
            None,
            now,
            _reopen_meta(e.reopened_from),
            MessageKind.ACTIVITY.value,
        )
        events.append(MessageCreated(recipients, conv.id, message_dict(activity)))
    return ReceiveResult(msg_data, conv_data, False, e.created), events


async def store_batch(
    conn: DriverConnection, items: list[InboundMessage]
) -> list[Stored | RunAlone]:
    """Store what the plan takes, committed; answer ``RUN_ALONE`` for the rest."""
    now = utcnow()
    written = await run_batch_sql(conn, lambda sql: write_batch(sql, items, now))
    return [RUN_ALONE if done is None else stored_answer(done, now) for done in written]
