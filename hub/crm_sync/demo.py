"""Demo sales data for ``hub demo``: a few customers on the demo API channel, their leads, and
deals spread over the default pipeline (one won, one lost), so the board is not empty on
``make run``. Everything goes through the real actions, like an operator's clicks."""

from __future__ import annotations

from hub.channels.base import InboundContact, InboundMessage
from hub.context import HubContext
from hub.crm_sync import deals, leads, queries
from hub.crm_sync.defaults import DEFAULTS
from hub.crm_sync.intake import LeadIntake
from hub.crm_sync.pipelines import list_pipelines
from hub.inbox.actions import receive_message
from hub.inbox.auth import Principal

#: name, phone, first message, open stage index (or "won"/"lost"), amount in roubles.
CUSTOMERS: tuple[tuple[str, str, str, int | str | None, str], ...] = (
    ("Иван Петров", "+79161234567", "Здравствуйте! Нужна печь для бани, 12 м².", 0, "85000"),
    ("ООО «Теплый дом»", "+74951112233", "Интересует камин для загородного дома.", 2, "420000"),
    ("Мария Соколова", "+79035550011", "Сколько стоит монтаж дымохода?", 3, "64000"),
    ("Алексей Кузнецов", "+79257778899", "Готовы подписать договор на две печи.", 4, "310000"),
    ("Ольга Морозова", "+79851234500", "Спасибо, печь отличная!", "won", "128000"),
    ("Дмитрий Волков", "+79164443322", "Пока дорого для нас.", "lost", "150000"),
    ("Сергей Новиков", "+79169990000", "Можно каталог?", None, "0"),
)


async def seed_sales(ctx: HubContext, actor: Principal, channel_id: int) -> int:
    """Make the demo customers, leads and deals; returns how many deals were made."""
    conv_ids = []
    for n, (name, phone, text, _stage, _amount) in enumerate(CUSTOMERS, start=1):
        said = await receive_message(
            ctx, InboundMessage(channel_id, InboundContact(f"demo-{n}", name, phone), text)
        )
        conv_ids.append(int(said.conversation["id"]))
    # Decided here, not on the intake's next pass: a hub serving the same database may hold
    # the intake's lease, and its pass may come after the leads are read below.
    await LeadIntake(ctx).take(conv_ids)
    stages = (await list_pipelines(ctx))["items"][0]["stages"]
    open_stages = [s for s in stages if s["kind"] == "open"]
    reason = DEFAULTS[ctx.settings.language].lost_reasons[0]
    incoming = (await queries.list_leads(ctx, actor, "incoming", 50))["items"]
    by_name = {lead["contact"]["name"]: lead for lead in incoming}
    made = 0
    for name, _phone, _text, stage, amount in CUSTOMERS:
        lead = by_name.get(name)
        if lead is None or stage is None:
            continue
        deal = await leads.qualify(ctx, actor, lead["id"])
        made += 1
        await deals.update_deal(ctx, actor, deal["id"], {"amount": amount})
        if isinstance(stage, int) and stage > 0:
            await deals.move_stage(ctx, actor, deal["id"], open_stages[stage]["id"], None)
        elif stage == "won":
            await deals.move_stage(ctx, actor, deal["id"], open_stages[3]["id"], None)
            await deals.close_deal(ctx, actor, deal["id"], "won")
        elif stage == "lost":
            await deals.move_stage(ctx, actor, deal["id"], open_stages[2]["id"], None)
            await deals.close_deal(ctx, actor, deal["id"], "lost", reason)
    return made
