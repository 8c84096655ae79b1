"""Statements through the hub's engine answer as a DB-API cursor should, whatever the driver
adapter underneath: rows, an empty answer, ``INSERT … RETURNING`` of many rows, row counts of
an update and of a many-row insert, the ORM's new ids, a unique violation as SQLAlchemy's
``IntegrityError`` with the connection usable after it, and a streamed read. On SQLite
(``hub.sqlite_driver``) each statement is also one call into aiosqlite's thread, where
SQLAlchemy's own adapter makes four."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.db import make_engine, make_sessionmaker
from hub.inbox.models import Contact, ContactPhone
from hub.settings import Settings

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
PHONES: Table = ContactPhone.__table__  # type: ignore[assignment]
NAMES = ["Анна", "Борис", "Bob 'the' O\"Neil", "Дарья"]


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    made = make_engine(settings.database_url)
    try:
        yield made
    finally:
        await made.dispose()


async def test_statements_answer_as_a_cursor_should(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        made = await conn.execute(
            insert(CONTACTS).returning(CONTACTS.c.id, CONTACTS.c.name),
            [{"name": name} for name in NAMES],
        )
        rows = made.all()
        assert sorted(name for _, name in rows) == sorted(NAMES)
        ids = [contact_id for contact_id, _ in rows]
        assert len(set(ids)) == len(NAMES)

        phones = await conn.execute(
            insert(PHONES),
            [{"contact_id": i, "e164": f"+7916000000{n}"} for n, i in enumerate(ids)],
        )
        # sqlite3 counts a many-row statement's rows; asyncpg does not count them (-1).
        assert phones.rowcount == (len(ids) if engine.dialect.name == "sqlite" else -1)

        renamed = await conn.execute(
            update(CONTACTS).where(CONTACTS.c.id.in_(ids[:2])).values(name="Вера")
        )
        assert renamed.rowcount == 2
        nobody = await conn.execute(
            update(CONTACTS).where(CONTACTS.c.id == -1).values(name="никто")
        )
        assert nobody.rowcount == 0

        found = await conn.execute(select(CONTACTS.c.name).where(CONTACTS.c.id.in_(ids)))
        assert sorted(found.scalars().all()) == sorted(["Вера", "Вера", *NAMES[2:]])
        empty = await conn.execute(select(CONTACTS.c.id).where(CONTACTS.c.id == -1))
        assert list(empty.keys()) == ["id"]
        assert empty.all() == []
        assert await conn.scalar(select(func.count()).select_from(PHONES)) == len(ids)

    async with make_sessionmaker(engine)() as session, session.begin():
        contact = Contact(name="Глеб")
        session.add(contact)
        await session.flush()
        assert contact.id not in ids and contact.id > 0
        assert (await session.get(Contact, contact.id)) is contact


async def test_a_unique_violation_is_an_integrity_error_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        contact_id = (
            await conn.execute(insert(CONTACTS).returning(CONTACTS.c.id), {"name": "Анна"})
        ).scalar_one()
        await conn.execute(insert(PHONES), {"contact_id": contact_id, "e164": "+79161234567"})
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(insert(PHONES), {"contact_id": contact_id, "e164": "+79161234567"})
        await conn.rollback()
        count = select(func.count()).select_from(PHONES).where(PHONES.c.contact_id == contact_id)
        assert await conn.scalar(count) == 1  # nothing was half written
        streamed = await conn.stream(select(CONTACTS.c.name).where(CONTACTS.c.id == contact_id))
        assert [name async for (name,) in streamed] == ["Анна"]


async def test_on_sqlite_a_statement_is_one_call_into_the_driver_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        assert engine.dialect.driver == "asyncpg"  # the adapter is SQLite's alone
        return
    calls: list[str] = []
    real: Callable[..., Any] = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is made and set up before
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        await conn.execute(insert(CONTACTS), [{"name": n} for n in NAMES])
        assert calls == ["_run"], calls
        calls.clear()
        rows = (await conn.execute(select(CONTACTS.c.name).where(CONTACTS.c.name.in_(NAMES)))).all()
        assert calls == ["_run"], calls
        assert sorted(name for (name,) in rows) == sorted(NAMES)
