"""What a batch of customer messages changes, worked out in Python before anything is written.

The per-message path (``actions.receive_one``) reads and writes one message at a time; the
batch must end with the same rows. So the planner walks the items in their order, as that path
would, over what the look-up read: a sender's contact (his name, attributes, phones and emails),
his conversation of the item's thread (made, or opened again with an activity row), the
message it answers. Later items see what earlier ones changed. ``inbound_batch`` then writes
the plan with a few statements per table and builds the answers from the same states.

Two kinds of item are left to the per-message path (``None`` in ``Plan.entries``): a
provider id stored before or earlier in the batch (a redelivery: it is answered by reading what
was stored, and writes nothing), and a message to a channel that is missing or switched off
(which that path refuses).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.channels.base import InboundMessage
from hub.inbox.inbound_sql import CONVERSATION_FIELDS, BatchSql, Lookup
from hub.inbox.inbound_state import (
    ContactState,
    ConversationState,
    Entry,
    Plan,
    SenderState,
)
from hub.inbox.items import preview_of
from hub.inbox.models import ConversationStatus

PREVIEW_CHARS = 200
_CLOSED = (ConversationStatus.RESOLVED.value, ConversationStatus.SNOOZED.value)


def preview(body: str) -> str:
    return " ".join(body.split())[:PREVIEW_CHARS]


def files_preview(count: int) -> str:
    return f"[{count} file{'s' if count > 1 else ''}]" if count else ""


def conversation_row(sql: BatchSql, row: tuple[Any, ...]) -> dict[str, Any]:
    """A conversation row read by ``fetch`` in ``CONVERSATION_FIELDS`` order, as values."""
    out = dict(zip(CONVERSATION_FIELDS, row, strict=True))
    for name in ("snoozed_until", "created_at", "last_activity_at"):
        out[name] = sql.read_time(out[name])
    out["attributes"] = sql.read_json(out["attributes"])
    return out


class Planner:
    """Walks the items in order over the look-up; reads more only when an item needs it."""

    def __init__(self, sql: BatchSql, look: Lookup, items: list[InboundMessage], now: datetime):
        self.sql, self.items, self.now = sql, items, now
        self.channels = {ch: (name, kind, team) for ch, name, kind, team, on in look.channels if on}
        self.known = look.known
        self.senders: dict[tuple[int, str], SenderState] = {}
        self.contacts: dict[int, ContactState] = {}
        self.threads: dict[tuple[int, str | None], dict[str, Any]] = {}
        self.conversations: dict[tuple[int, str, str | None], ConversationState] = {}
        #: Every stored conversation the batch touches, however it was reached.
        self.by_id: dict[int, ConversationState] = {}
        for ch, ext, identity_id, contact_id, name, attrs, conv in look.senders:
            contact = self.contacts.setdefault(contact_id, ContactState(contact_id, name, attrs))
            self.senders[(ch, ext)] = SenderState(ch, ext, identity_id, contact)
            if conv is not None:
                self.threads[(identity_id, None)] = dict(
                    zip(CONVERSATION_FIELDS, conv, strict=True)
                )
        self.new_contacts: list[ContactState] = []
        self.new_senders: list[SenderState] = []
        self.touched: list[ConversationState] = []
        self.replies = self._reply_targets()
        self.joined = self._read_joined()
        self._read_threads()
        self._read_details(
            [
                s.contact
                for i in items
                if (i.contact.phone or i.contact.email)
                and (s := self.senders.get((i.channel_id, i.contact.external_id)))
            ]
        )

    def plan(self) -> Plan:
        entries: list[Entry | None] = []
        stored_here: dict[tuple[int, str], int] = {}
        for index, item in enumerate(self.items):
            pid = item.provider_message_id
            key = (item.channel_id, pid or "")
            if item.channel_id not in self.channels or (
                pid is not None and (key in self.known or key in stored_here)
            ):
                entries.append(None)
                continue
            if pid is not None:
                stored_here[key] = index
            entries.append(self._entry(item, stored_here))
        # A contact whose search text changes needs all his phones and emails.
        self._read_details([c for c in self.contacts.values() if c.search_changed])
        return Plan(
            self.channels,
            entries,
            [*self.new_contacts, *(c for c in self.contacts.values() if not c.new)],
            self.new_senders,
            self.touched,
        )

    def _entry(self, item: InboundMessage, stored_here: dict[tuple[int, str], int]) -> Entry:
        sender = self._sender(item)
        contact = sender.contact
        merged = item.contact_attributes_over(contact.attributes)
        if merged is not None:
            contact.attributes, contact.changed = merged, True
        self._details(contact, item)
        conv, created = self._conversation(sender, item)
        reopened_from = None
        if not created and conv.status in _CLOSED:
            reopened_from = conv.status
            conv.status, conv.snoozed_until = ConversationStatus.OPEN.value, None
        conv.last_activity_at = self.now
        conv.last_message_preview = (
            preview_of(item) or preview(item.body) or files_preview(len(item.attachments))
        )
        conv.unread_count += 1
        conv.added += 1
        merged = item.conversation_attributes_over(conv.attributes)
        if merged is not None:
            conv.attributes, conv.attributes_changed = merged, True
        target = (item.channel_id, item.reply_to_provider_id or "")
        return Entry(
            item,
            sender,
            conv,
            created,
            reopened_from,
            self.replies.get(target) if item.reply_to_provider_id else None,
            stored_here.get(target) if item.reply_to_provider_id else None,
            conv.status,
            conv.unread_count,
            conv.last_message_preview,
            dict(conv.attributes),
            contact.name,
            self._owner_name(conv),
        )

    def _owner_name(self, conv: ConversationState) -> str | None:
        """The name of the customer whose conversation was joined by proof, as the items so
        far left it (read before the batch; an item of his own may have renamed him since)."""
        if conv.owner is None:
            return None
        state = self.contacts.get(conv.owner[0])
        return state.name if state is not None else conv.owner[1]

    def _sender(self, item: InboundMessage) -> SenderState:
        who = item.contact
        sender = self.senders.get((item.channel_id, who.external_id))
        if sender is not None:
            known = sender.contact
            if (
                who.name
                and known.name != who.name
                and (not known.name or _follows_channel(known, item))
            ):
                known.name, known.changed, known.search_changed = who.name, True, True
            return sender
        joined = self._joined(item.join_contact_id)
        if joined is None:
            contact = ContactState(None, who.name or "", {}, new=True, phones={}, emails=[])
            self.new_contacts.append(contact)
        else:
            contact = joined
            if who.name and not contact.name:
                contact.name, contact.changed = who.name, True
        contact.search_changed = True
        sender = SenderState(item.channel_id, who.external_id, None, contact)
        self.senders[(item.channel_id, who.external_id)] = sender
        self.new_senders.append(sender)
        return sender

    def _details(self, contact: ContactState, item: InboundMessage) -> None:
        who = item.contact
        if not (who.phone or who.email):
            return
        self._read_details([contact])
        assert contact.phones is not None and contact.emails is not None
        if who.phone:
            if who.phone not in contact.phones:
                contact.phones[who.phone] = who.phone_verified
                contact.new_phones.append((who.phone, who.phone_verified))
                contact.search_changed = True
            elif who.phone_verified and not contact.phones[who.phone]:
                contact.phones[who.phone] = True
                contact.verified_phones.append(who.phone)
        if who.email and who.email not in contact.emails:
            contact.emails.append(who.email)
            contact.new_emails.append(who.email)
            contact.search_changed = True

    def _conversation(
        self, sender: SenderState, item: InboundMessage
    ) -> tuple[ConversationState, bool]:
        if item.conversation_id is not None and item.conversation_id in self.joined:
            row, owner = self.joined[item.conversation_id]
            joined = self.by_id.get(item.conversation_id) or self._stored(sender, item, row)
            joined.owner = owner
            return joined, False
        key = (item.channel_id, item.contact.external_id, item.thread_key)
        known = self.conversations.get(key)
        if known is not None:
            return known, False
        found = (
            self.threads.get((sender.identity_id, item.thread_key))
            if sender.identity_id is not None
            else None
        )
        if found is None:
            conv = ConversationState(
                None,
                item.channel_id,
                sender,
                item.thread_key,
                self.channels[item.channel_id][2],
                None,
                ConversationStatus.OPEN.value,
                None,
                self.now,
                self.now,
                "",
                0,
                {},
                new=True,
            )
            self.touched.append(conv)
        else:
            conv = self.by_id.get(found["id"]) or self._stored(sender, item, found)
        self.conversations[key] = conv
        return conv, found is None

    def _stored(
        self, sender: SenderState, item: InboundMessage, found: dict[str, Any]
    ) -> ConversationState:
        conv = ConversationState(
            found["id"],
            found["channel_id"],
            sender,
            item.thread_key,
            found["team_id"],
            found["assignee_id"],
            found["status"],
            found["snoozed_until"],
            found["created_at"],
            found["last_activity_at"],
            found["last_message_preview"],
            found["unread_count"],
            dict(found["attributes"] or {}),
        )
        self.by_id[conv.id or 0] = conv
        self.touched.append(conv)
        return conv

    def _read_joined(self) -> dict[int, tuple[dict[str, Any], tuple[int, str, str, str]]]:
        """The conversations items join by proof, with their customer's and channel's names."""
        wanted = sorted({i.conversation_id for i in self.items if i.conversation_id is not None})
        if not wanted:
            return {}
        fields = ", ".join(f"c.{name}" for name in CONVERSATION_FIELDS)
        among, params = self.sql.any_of(wanted)
        rows = self.sql.fetch(
            f"SELECT {fields}, o.name, h.name, h.type FROM conversations c"
            " JOIN contacts o ON o.id = c.contact_id JOIN channels h ON h.id = c.channel_id"
            f" WHERE c.id {among}",
            params,
        )
        out = {}
        for row in rows:
            found = conversation_row(self.sql, tuple(row[: len(CONVERSATION_FIELDS)]))
            contact_name, channel_name, channel_type = row[len(CONVERSATION_FIELDS) :]
            owner = (found["contact_id"], contact_name, channel_name, channel_type)
            out[found["id"]] = (found, owner)
        return out

    def _joined(self, contact_id: int | None) -> ContactState | None:
        """The contact a new identity joins, following merges to the surviving one."""
        seen: set[int] = set()
        while contact_id is not None and contact_id not in seen:
            seen.add(contact_id)
            if contact_id in self.contacts:
                return self.contacts[contact_id]
            rows = self.sql.fetch(
                "SELECT name, attributes, merged_into_id FROM contacts WHERE id = ?", [contact_id]
            )
            if not rows:
                return None
            name, attrs, merged_into = rows[0]
            if merged_into is None:
                state = ContactState(contact_id, name, self.sql.read_json(attrs))
                self.contacts[contact_id] = state
                return state
            contact_id = merged_into
        return None

    def _read_details(self, contacts: list[ContactState]) -> None:
        """Phones and emails of known contacts that lack them, with one statement (on
        PostgreSQL each statement is a round trip of the lane)."""
        wanted = sorted({c.id for c in contacts if c.phones is None and c.id is not None})
        if not wanted:
            return
        for contact_id in wanted:
            self.contacts[contact_id].phones, self.contacts[contact_id].emails = {}, []
        among, params = self.sql.any_of(wanted)
        rows = self.sql.fetch(
            f"SELECT 0, contact_id, e164, verified, id FROM contact_phones WHERE contact_id {among}"
            " UNION ALL SELECT 1, contact_id, email, NULL, id FROM contact_emails"
            f" WHERE contact_id {among} ORDER BY 1, 5",
            [*params, *params],
        )
        for is_email, contact_id, value, verified, _id in rows:
            contact = self.contacts[contact_id]
            if is_email:
                assert contact.emails is not None
                contact.emails.append(value)
            else:
                assert contact.phones is not None
                contact.phones[value] = bool(verified)

    def _reply_targets(self) -> dict[tuple[int, str], int]:
        """The ids of stored messages that items answer, by channel and provider id."""
        out: dict[tuple[int, str], int] = {}
        wanted: dict[int, set[str]] = {}
        for item in self.items:
            if item.reply_to_provider_id:
                wanted.setdefault(item.channel_id, set()).add(item.reply_to_provider_id)
        for ch, pids in wanted.items():
            among, params = self.sql.any_of(sorted(pids))
            rows = self.sql.fetch(
                "SELECT provider_message_id, id FROM messages WHERE channel_id = ?"
                f" AND provider_message_id {among}",
                [ch, *params],
            )
            out.update(((ch, pid), int(message_id)) for pid, message_id in rows)
        return out

    def _read_threads(self) -> None:
        """Each known sender's newest conversation of every thread the items name."""
        pairs = {
            (s.identity_id, i.thread_key)
            for i in self.items
            if i.thread_key is not None
            and (s := self.senders.get((i.channel_id, i.contact.external_id)))
            and s.identity_id is not None
        }
        if not pairs:
            return
        identities = sorted({p[0] for p in pairs if p[0] is not None})
        keys = sorted({p[1] for p in pairs if p[1] is not None})
        fields = ", ".join(CONVERSATION_FIELDS)
        of_identities, identity_params = self.sql.any_of(identities)
        of_keys, key_params = self.sql.any_of(keys)
        rows = self.sql.fetch(
            f"SELECT identity_id, thread_key, {fields} FROM conversations WHERE id IN"
            " (SELECT max(id) FROM conversations"
            f" WHERE identity_id {of_identities}"
            f" AND thread_key {of_keys} GROUP BY identity_id, thread_key)",
            [*identity_params, *key_params],
        )
        for identity_id, thread_key, *conv in rows:
            if (identity_id, thread_key) in pairs:
                self.threads[(identity_id, thread_key)] = conversation_row(self.sql, tuple(conv))


def _follows_channel(contact: ContactState, item: InboundMessage) -> bool:
    """Whether the contact still bears the name the channel gave him last (so nobody renamed
    him) and the channel now gives another (``contacts._follows_channel``)."""
    key = item.channel_name_key
    if key is None or contact.name == item.contact.name:
        return False
    return bool(contact.name == contact.attributes.get(key))
