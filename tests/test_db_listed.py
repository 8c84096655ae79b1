"""``hub.db.listed``: a statement built once takes a different list at every run, as one
parameter (PostgreSQL's array, SQLite's JSON array read by ``json_each``), and finds exactly the
rows whose column is one of the list: ids and text alike (Russian, quotes, a backslash), a list
of one, none, or with repeats, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache

import pytest
from sqlalchemy import Select, select

from hub.context import HubContext
from hub.db import listed, on_postgresql
from hub.inbox.models import Contact, ContactPhone
from hub.settings import Settings

NAMES = ["Анна «Ромашка»", 'Bob "the" O\'Neil', "C:\\path", "Дмитрий", "Ева"]


@cache
def _by_id(postgresql: bool) -> Select[int, str]:
    return select(Contact.id, Contact.name).where(listed(Contact.id, "ids", postgresql))


@cache
def _by_name(postgresql: bool) -> Select[int]:
    return select(Contact.id).where(listed(Contact.name, "names", postgresql))


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[HubContext]:
    hub = HubContext.build(settings)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.close()


async def test_a_statement_built_once_finds_each_list_it_is_given(ctx: HubContext) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        contacts = [Contact(name=name) for name in NAMES]
        session.add_all(contacts)
        await session.flush()
        session.add(ContactPhone(contact_id=contacts[0].id, e164="+79161234567"))
    ids = [c.id for c in contacts]

    async with ctx.sessionmaker() as session:
        postgresql = on_postgresql(session)
        by_id, by_name = _by_id(postgresql), _by_name(postgresql)
        for wanted in ([ids[1], ids[3]], [ids[4]], ids, [], [ids[2], ids[2], 10**9]):
            rows = (await session.execute(by_id, {"ids": wanted})).all()
            expected = {(i, NAMES[ids.index(i)]) for i in wanted if i in ids}
            assert set(rows) == expected, wanted
        for names in (NAMES[:2], [NAMES[2]], ["Анна", "никто"], []):
            found = (await session.scalars(by_name, {"names": names})).all()
            assert sorted(found) == sorted(ids[NAMES.index(n)] for n in names if n in NAMES)
        # The same statement in another, a join's, where: the values compare as the column's.
        phones = select(ContactPhone.contact_id).where(
            listed(ContactPhone.e164, "phones", postgresql)
        )
        assert (await session.scalars(phones, {"phones": ["+79161234567"]})).all() == [ids[0]]
        assert (await session.scalars(phones, {"phones": ["79161234567"]})).all() == []
