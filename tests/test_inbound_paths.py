"""The batch path stores what the per-message path stores, whatever a channel sends.

Random sequences of customer messages (senders old and new, names that change, phones and
emails, attributes (set, or set only where missing), threads, files, calls and emails, answers
to earlier messages, repeated provider ids, another sender's conversation joined by proof,
conversations resolved or snoozed in between) go through both paths, each into
a channel of its own: the per-message ORM path (``actions.receive_one``, forced here) and the
batch (``inbound_batch``), which takes every one of them. The stored rows and the answers must
be the same once ids and times are put aside. A failing seed is printed; run it again with
``HUB_PATHS_SEED``.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hub.channels.base import (
    InboundAttachment,
    InboundCall,
    InboundContact,
    InboundEmail,
    InboundMessage,
)
from hub.db import utcnow
from hub.http import CTX
from hub.inbox import actions as inbox_actions
from hub.inbox.auth import Principal
from hub.inbox.handoff import set_status
from hub.inbox.inbound_batch import ReceiveResult, store_batch
from hub.inbox.item_models import CallItem, EmailItem
from hub.inbox.models import (
    Attachment,
    Contact,
    ContactEmail,
    ContactIdentity,
    ContactPhone,
    Conversation,
    Message,
)
from hub.writes import RUN_ALONE, RunAlone
from tests.helpers import make_api_channel, make_operator

# 19 and 30: a conversation joined by proof after its customer was renamed in the same batch.
SEEDS = (
    [int(os.environ["HUB_PATHS_SEED"])] if "HUB_PATHS_SEED" in os.environ else [*range(12), 19, 30]
)
SENDERS = ["s1", "s2", "s3", "s4"]
NAMES = ["", "Иван", "Ivan", "Пётр Петров"]
NAME_KEY = "channel_name"
SNOOZE_UNTIL = utcnow().replace(microsecond=0) + timedelta(days=1)

# A step of a sequence: a burst of messages, or an operator closing a sender's conversation.
Make = Callable[[dict[str, int]], InboundMessage]


def _sequence(seed: int) -> list[tuple[str, Any]]:
    """Steps whose messages name their channel and joined contact late (``Make``): each path
    has its own channel and contacts."""
    rnd = random.Random(seed)
    steps: list[tuple[str, Any]] = []
    pids: list[str] = []
    for step in range(rnd.randint(4, 9)):
        if steps and rnd.random() < 0.25:
            steps.append(("close", (rnd.choice(SENDERS), rnd.choice(["resolved", "snoozed"]))))
            continue
        burst: list[Make] = []
        for n in range(rnd.randint(1, 8)):
            burst.append(_message(rnd, pids, f"p{step}.{n}"))
        steps.append(("burst", burst))
    return steps


def _message(rnd: random.Random, pids: list[str], fresh: str) -> Make:
    sender = rnd.choice(SENDERS)
    name = rnd.choice(NAMES)
    phone = rnd.choice([None, None, "+79161234567", "+79031112233"])
    email = rnd.choice([None, None, "ivan@example.ru", "petr@example.com"])
    verified = rnd.random() < 0.3
    roll = rnd.random()
    pid: str | None = rnd.choice(pids) if pids and roll < 0.15 else None if roll < 0.3 else fresh
    reply_to = rnd.choice(pids) if pids and rnd.random() < 0.2 else None
    if pid is not None and pid not in pids:
        pids.append(pid)
    files = tuple(
        InboundAttachment(
            f"k/{fresh}/{i}",
            "ab" * 32,
            10 + i,
            f"файл {i}.pdf",
            "application/pdf",
            "file",
            {"n": i},
        )
        for i in range(rnd.choice([0, 0, 0, 1, 2]))
    )
    body = rnd.choice(["привет", "hello  there\nagain", "", "x" * 300])
    if not body and not files:
        body = "…"
    kind = rnd.random()
    call = (
        InboundCall(
            "inbound", "+79161234567", "+74950000000", rnd.choice(["answered", "missed"]), 75
        )
        if kind < 0.12
        else None
    )
    mail = (
        InboundEmail(
            "Счёт №5",
            "ivan@example.ru",
            ("sales@company.ru",),
            (),
            "<p>Hi<script>x</script></p>",
            f"<{fresh}@mail.ru>",
        )
        if 0.12 <= kind < 0.24
        else None
    )
    contact_attrs = {"utm": rnd.choice(["a", "b"])} if rnd.random() < 0.3 else {}
    name_key = None
    if rnd.random() < 0.3 and name:
        name_key, contact_attrs = NAME_KEY, {**contact_attrs, NAME_KEY: name}
    conv_attrs = {"page": rnd.choice(["/", "/price"])} if rnd.random() < 0.3 else {}
    # Set only where missing (a visitor's touches), and may name what the others set too;
    # drawn apart, so each seed's sequence is otherwise what it was before they came.
    apart = random.Random(fresh)
    contact_defaults = {"utm": "d", "seen": fresh} if apart.random() < 0.3 else {}
    conv_defaults = {"page": "/d", "first": fresh} if apart.random() < 0.3 else {}
    thread = rnd.choice([None, None, "t1", "t2"])
    join = rnd.choice(SENDERS) if rnd.random() < 0.2 else None
    target = rnd.choice(SENDERS) if rnd.random() < 0.15 else None

    def make(world: dict[str, int]) -> InboundMessage:
        return InboundMessage(
            world["channel"],
            InboundContact(sender, name, phone, email, phone_verified=verified),
            body,
            provider_message_id=pid,
            meta={"n": fresh},
            attachments=files,
            contact_attributes=contact_attrs,
            conversation_attributes=conv_attrs,
            contact_attribute_defaults=contact_defaults,
            conversation_attribute_defaults=conv_defaults,
            channel_name_key=name_key,
            join_contact_id=world.get(f"contact:{join}") if join else None,
            conversation_id=world.get(f"conv:{target}") if target else None,
            reply_to_provider_id=reply_to,
            thread_key=thread,
            call=call,
            email=mail,
        )

    return make


async def _play(
    client: TestClient,  # type: ignore[type-arg]
    steps: list[tuple[str, Any]],
    world: dict[str, int],
    boss: Principal,
) -> list[ReceiveResult]:
    until = world.pop("snooze_until_s")
    ctx = client.app[CTX]
    answers: list[ReceiveResult] = []
    for kind, what in steps:
        if kind == "close":
            sender, status = what
            async with ctx.sessionmaker() as session:
                conv_id = await session.scalar(
                    select(Conversation.id)
                    .join(ContactIdentity, ContactIdentity.id == Conversation.identity_id)
                    .where(
                        ContactIdentity.channel_id == world["channel"],
                        ContactIdentity.external_id == sender,
                    )
                    .order_by(Conversation.id.desc())
                    .limit(1)
                )
            if conv_id is not None:
                when = SNOOZE_UNTIL + timedelta(seconds=until) if status == "snoozed" else None
                await set_status(ctx, boss, conv_id, status, when)
            continue
        items = [make(world) for make in what]
        results = await asyncio.gather(*(inbox_actions.receive_message(ctx, m) for m in items))
        answers.extend(results)
        async with ctx.sessionmaker() as session:
            for ext in SENDERS:
                contact_id = await session.scalar(
                    select(ContactIdentity.contact_id).where(
                        ContactIdentity.channel_id == world["channel"],
                        ContactIdentity.external_id == ext,
                    )
                )
                if contact_id is not None:
                    world[f"contact:{ext}"] = contact_id
                conv_id = await session.scalar(
                    select(Conversation.id)
                    .join(ContactIdentity, ContactIdentity.id == Conversation.identity_id)
                    .where(
                        ContactIdentity.channel_id == world["channel"],
                        ContactIdentity.external_id == ext,
                    )
                    .order_by(Conversation.id.desc())
                    .limit(1)
                )
                if conv_id is not None:
                    world[f"conv:{ext}"] = conv_id
    return answers


async def _rows(client: TestClient, channel_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    """The channel's rows, ids replaced by their rank and times by whether they are set."""
    async with client.app[CTX].sessionmaker() as session:
        identities = (
            await session.scalars(
                select(ContactIdentity)
                .where(ContactIdentity.channel_id == channel_id)
                .order_by(ContactIdentity.id)
            )
        ).all()
        contact_ids = sorted({i.contact_id for i in identities})
        contacts = (await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))).all()
        convs = (
            await session.scalars(
                select(Conversation)
                .where(Conversation.channel_id == channel_id)
                .order_by(Conversation.id)
            )
        ).all()
        msgs = (
            await session.scalars(
                select(Message).where(Message.channel_id == channel_id).order_by(Message.id)
            )
        ).all()
        msg_ids = [m.id for m in msgs]
        files = (
            await session.scalars(
                select(Attachment).where(Attachment.message_id.in_(msg_ids)).order_by(Attachment.id)
            )
        ).all()
        calls = (
            await session.scalars(select(CallItem).where(CallItem.message_id.in_(msg_ids)))
        ).all()
        mails = (
            await session.scalars(select(EmailItem).where(EmailItem.message_id.in_(msg_ids)))
        ).all()
        phones = (
            await session.execute(
                select(ContactPhone.contact_id, ContactPhone.e164, ContactPhone.verified)
                .where(ContactPhone.contact_id.in_(contact_ids))
                .order_by(ContactPhone.id)
            )
        ).all()
        emails = (
            await session.execute(
                select(ContactEmail.contact_id, ContactEmail.email, ContactEmail.verified)
                .where(ContactEmail.contact_id.in_(contact_ids))
                .order_by(ContactEmail.id)
            )
        ).all()
    ref = {"contact": {c: n for n, c in enumerate(contact_ids)}}
    ref["identity"] = {i.id: n for n, i in enumerate(identities)}
    ref["conversation"] = {c.id: n for n, c in enumerate(convs)}
    ref["message"] = {m: n for n, m in enumerate(msg_ids)}
    ref["file"] = {f.id: n for n, f in enumerate(files)}
    c_ref, m_ref, v_ref = ref["contact"], ref["message"], ref["conversation"]
    return {
        "refs": ref,
        "contacts": sorted(
            (c_ref[c.id], c.name, c.search_text, c.attributes, c.merged_into_id) for c in contacts
        ),
        "identities": [(i.external_id, c_ref[i.contact_id]) for i in identities],
        # Each contact's in the order they were added (the card's order), contacts by rank.
        "phones": sorted(((c_ref[c], p, v) for c, p, v in phones), key=lambda r: r[0]),
        "emails": sorted(((c_ref[c], e, v) for c, e, v in emails), key=lambda r: r[0]),
        "conversations": [
            (
                ref["identity"].get(c.identity_id or 0),
                c_ref[c.contact_id],
                c.thread_key,
                c.team_id,
                c.status,
                c.snoozed_until is None,
                c.unread_count,
                c.last_message_preview,
                c.attributes,
                c.first_incoming_at is None,
            )
            for c in convs
        ],
        "messages": [
            (
                v_ref[m.conversation_id],
                m.kind,
                m.body,
                c_ref.get(m.sender_contact_id or 0),
                m.provider_message_id,
                m.meta,
                m_ref.get(m.reply_to_id or 0),
                m.delivery_status,
            )
            for m in msgs
        ],
        "files": [
            (
                m_ref[f.message_id or 0],
                v_ref[f.conversation_id],
                f.filename,
                f.content_type,
                f.size,
                f.sha256,
                f.storage_key,
                f.kind,
                f.meta,
            )
            for f in files
        ],
        "calls": sorted(
            (m_ref[c.message_id], c.direction, c.from_number, c.status, c.duration_s) for c in calls
        ),
        "mails": sorted(
            (m_ref[e.message_id], e.subject, e.html, e.recipients, e.message_id_header)
            for e in mails
        ),
    }


_TIMES = {"created_at", "last_activity_at", "snoozed_until", "updated_at"}
_KIND_OF_ID = {
    "conversation_id": "conversation",
    "reply_to_id": "message",
    "contact_id": "contact",
}


def _answer(value: Any, refs: dict[str, dict[int, int]], kind: str = "") -> Any:
    """An answer with ids as ranks (``kind`` names the id an ``id`` key holds)."""
    if isinstance(value, list):
        return [_answer(v, refs, kind) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key in _TIMES:
            out[key] = v is None
        elif key in ("channel_id", "channel", "url"):
            continue  # each path has its own channel; a file's URL holds its id
        elif key == "id" and v is not None:
            out[key] = refs[kind].get(v) if kind in refs else v
        elif key in _KIND_OF_ID and v is not None:
            out[key] = refs[_KIND_OF_ID[key]].get(v)
        elif key == "contact" or key == "sender":
            out[key] = _answer(v, refs, "contact")
        elif key == "attachments":
            out[key] = [_answer(f, refs, "file") for f in v]
        else:
            out[key] = _answer(v, refs, kind)
    return out


@pytest.mark.parametrize("seed", SEEDS)
async def test_both_paths_store_the_same(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    ctx = client.app[CTX]
    admin = await make_operator(client, role="admin")
    boss = Principal(admin.id, admin.name, "admin", frozenset())
    by_orm = (await make_api_channel(client, admin))["id"]
    by_batch = (await make_api_channel(client, admin))["id"]
    taken: list[int] = []

    async def route(conn: Any, items: list[InboundMessage]) -> list[Any]:
        """The ORM channel's items go one by one; the other's through the batch."""
        ours = [i for i, item in enumerate(items) if item.channel_id == by_batch]
        answers: list[Any] = [RUN_ALONE] * len(items)
        if ours:
            stored = await store_batch(conn, [items[i] for i in ours])
            for i, answer in zip(ours, stored, strict=True):
                answers[i] = answer
            taken.append(sum(1 for a in stored if not isinstance(a, RunAlone)))
        return answers

    monkeypatch.setattr(inbox_actions, "store_batch", route)
    steps = _sequence(seed)
    orm_answers = await _play(client, steps, {"channel": by_orm, "snooze_until_s": 0}, boss)
    batch_answers = await _play(client, steps, {"channel": by_batch, "snooze_until_s": 0}, boss)
    orm_rows, batch_rows = await _rows(client, by_orm), await _rows(client, by_batch)
    orm_refs, batch_refs = orm_rows.pop("refs"), batch_rows.pop("refs")
    assert orm_rows["messages"], f"seed {seed}: nothing was stored"
    for table in orm_rows:
        assert batch_rows[table] == orm_rows[table], f"seed {seed}: {table} differ"
    duplicates = sum(1 for a in orm_answers if a.duplicate)
    assert sum(taken) == len(batch_answers) - duplicates, f"seed {seed}: the batch left some"
    for n, (orm, batch) in enumerate(zip(orm_answers, batch_answers, strict=True)):
        where = f"seed {seed}, message {n}"
        assert (batch.duplicate, batch.created_conversation) == (
            orm.duplicate,
            orm.created_conversation,
        ), where
        batch_message = _answer(batch.message, batch_refs, "message")
        orm_message = _answer(orm.message, orm_refs, "message")
        batch_conv = _answer(batch.conversation, batch_refs, "conversation")
        orm_conv = _answer(orm.conversation, orm_refs, "conversation")
        if orm.duplicate:
            # A redelivery is answered with what is stored when it is read: in a batch, after
            # the batch's later messages, one by one before them. The message is the same.
            for answer in (batch_message, orm_message):
                answer["sender"].pop("name")
            batch_conv, orm_conv = batch_conv["id"], orm_conv["id"]
        assert batch_message == orm_message, where
        assert batch_conv == orm_conv, where
    assert ctx.writer.batches > 0
