"""Rows of the CRM tables written straight through the models, for report and sync tests.

Reports are checked against figures computed by hand, so the data set is built row by row with
chosen timestamps, not through the CRM actions (which stamp the current time); the report
columns those actions keep are then computed from the rows (``hub.crm_sync.report_columns``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.crm_sync.models import Deal, Lead, Pipeline, Stage, StageChange
from hub.crm_sync.report_columns import refresh_in
from hub.inbox.models import Channel, Contact, Conversation, Message, Operator

_n = itertools.count(1)


def at(text: str) -> datetime:
    """``"2026-11-02 09:00"`` or ``"2026-11-02 09:00:30"``, in UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


@dataclass
class Seeder:
    session: AsyncSession
    channels: dict[str, int] = field(default_factory=dict)

    async def _add(self, row: Any) -> int:
        self.session.add(row)
        await self.session.flush()
        return int(row.id)

    async def operator(self, name: str, role: str = "operator") -> int:
        n = next(_n)
        return await self._add(
            Operator(email=f"seed{n}@example.com", name=name, role=role, password_hash="-")
        )

    async def channel(self, type_: str) -> int:
        if type_ not in self.channels:
            self.channels[type_] = await self._add(
                Channel(type=type_, name=f"{type_} {next(_n)}", secret="-", config={})
            )
        return self.channels[type_]

    async def pipeline(self, name: str, stages: list[tuple[str, str]]) -> dict[str, int]:
        """The pipeline's id under ``"id"`` and its stages' ids by name, in this order."""
        pid = await self._add(Pipeline(name=name, created_at=at("2026-01-01 00:00")))
        ids = {"id": pid}
        for position, (stage, kind) in enumerate(stages, start=1):
            ids[stage] = await self._add(
                Stage(pipeline_id=pid, name=stage, position=position, kind=kind)
            )
        return ids

    async def conversation(self, created: str, channel: str = "widget") -> tuple[int, int]:
        """A new contact's conversation: (conversation id, contact id)."""
        contact = await self._add(Contact(name=f"Customer {next(_n)}"))
        ch = await self.channel(channel)
        conv = await self._add(
            Conversation(
                channel_id=ch,
                contact_id=contact,
                created_at=at(created),
                last_activity_at=at(created),
            )
        )
        return conv, contact

    async def message(
        self, conversation_id: int, kind: str, when: str, operator: int | None = None
    ) -> int:
        conv = await self.session.get(Conversation, conversation_id)
        assert conv is not None
        message_id = await self._add(
            Message(
                conversation_id=conversation_id,
                channel_id=conv.channel_id,
                kind=kind,
                body=f"{kind} at {when}",
                sender_operator_id=operator,
                sender_contact_id=conv.contact_id if kind == "incoming" else None,
                created_at=at(when),
            )
        )
        await refresh_in(self.session, conversation_id=conversation_id)
        return message_id

    async def deal(
        self,
        *,
        pipeline: dict[str, int],
        moves: list[tuple[str, str]],
        owner: int | None,
        amount_minor: int = 0,
        currency: str = "RUB",
        source: tuple[str | None, str | None, str | None] = (None, None, None),
        won: str | None = None,
        lost: tuple[str, str, str] | None = None,
    ) -> int:
        """A deal created at its first move; ``moves`` are (stage name, time) in order;
        ``won`` is the closing time; ``lost`` is (stage lost at, reason, closing time)."""
        contact = await self._add(Contact(name=f"Buyer {next(_n)}"))
        created = at(moves[0][1])
        closed = at(won) if won else at(lost[2]) if lost else None
        status = "won" if won else "lost" if lost else "open"
        kinds = {"won": "won", "lost": "lost"}
        final = next((k for k, v in pipeline.items() if v and kinds.get(status) == k.lower()), None)
        stage = pipeline[final] if final else pipeline[moves[-1][0]]
        deal = await self._add(
            Deal(
                title=f"Deal {next(_n)}",
                amount_minor=amount_minor,
                currency=currency,
                contact_id=contact,
                owner_id=owner,
                pipeline_id=pipeline["id"],
                stage_id=stage,
                status=status,
                source_channel=source[0],
                utm_source=source[1],
                utm_campaign=source[2],
                lost_reason=lost[1] if lost else None,
                lost_stage_id=pipeline[lost[0]] if lost else None,
                created_at=created,
                updated_at=closed or created,
                closed_at=closed,
            )
        )
        previous: int | None = None
        for index, (name, when) in enumerate(moves):
            to = pipeline[name]
            direction = "initial" if index == 0 else "forward"
            await self._add(
                StageChange(
                    deal_id=deal,
                    from_stage_id=previous,
                    to_stage_id=to,
                    direction=direction,
                    operator_id=owner,
                    created_at=at(when),
                )
            )
            previous = to
        if final and closed:
            await self._add(
                StageChange(
                    deal_id=deal,
                    from_stage_id=previous,
                    to_stage_id=pipeline[final],
                    direction=status,
                    operator_id=owner,
                    created_at=closed,
                )
            )
        await refresh_in(self.session, deal_id=deal)
        return deal

    async def lead(
        self,
        created: str,
        source: tuple[str | None, str | None, str | None],
        *,
        deal: int | None = None,
        conversation: int | None = None,
        status: str = "incoming",
    ) -> int:
        contact = await self._add(Contact(name=f"Lead {next(_n)}"))
        return await self._add(
            Lead(
                contact_id=contact,
                conversation_id=conversation,
                status="qualified" if deal else status,
                source_channel=source[0],
                utm_source=source[1],
                utm_campaign=source[2],
                deal_id=deal,
                created_at=at(created),
            )
        )
