"""Webhook subscriptions (sync out), the admin's named writes and reads.

The secret that signs a subscriber's deliveries is generated here and returned once, by
``create_subscription``; no read ever returns it again. A disabled subscription gets no new
deliveries and its pending ones wait (they go out if it is enabled again); a deleted one loses
its deliveries and their log with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.context import HubContext
from hub.crm_sync.clients.webhook import idempotency_key
from hub.crm_sync.models import (
    SyncAttempt,
    SyncDelivery,
    SyncRecord,
    WebhookSubscription,
)
from hub.db import utcnow
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.inbox.auth import Principal
from hub.outbound.destinations import check_url
from hub.outbound.signing import new_secret

EVENT_PATTERN = re.compile(r"^(\*|[a-z_]+\.(\*|[a-z_]+(\.[a-z_]+)*))$")
SyncDeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[str, ...] = get_args(SyncDeliveryStatus)


def require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise Forbidden("only an admin may manage webhooks", code="admin_required")


def wants(patterns: list[str], event: str) -> bool:
    """Whether a subscription with these event patterns receives ``event`` (empty: all)."""
    if not patterns:
        return True
    for pattern in patterns:
        if pattern in ("*", event):
            return True
        if pattern.endswith(".*") and event.startswith(pattern[:-1]):
            return True
    return False


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters", code="invalid_name")
    return name


def _clean_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("url must be an http(s) URL", code="invalid_url")
    return url.strip()


def _clean_events(events: list[str]) -> list[str]:
    cleaned: list[str] = []
    for event in events:
        if not EVENT_PATTERN.fullmatch(event):
            raise InvalidInput(
                f"{event!r} is not an event name like deal.updated or deal.*",
                code="invalid_event",
            )
        if event not in cleaned:
            cleaned.append(event)
    return cleaned


def subscription_dict(sub: WebhookSubscription) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": sub.id,
        "name": sub.name,
        "url": sub.url,
        "events": list(sub.events),
        "active": sub.is_active,
        "created_at": _iso(sub.created_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    subscription: dict[str, Any]
    #: Shown once: the subscriber verifies every delivery's signature with it.
    secret: str


async def create_subscription(
    ctx: HubContext, actor: Principal, *, name: str, url: str, events: list[str]
) -> CreatedSubscription:
    require_admin(actor)
    clean = (_clean_name(name), _clean_url(url), _clean_events(events))
    await check_url(ctx.settings.destination_policy, clean[1], field="url")
    secret = new_secret()

    async def unit(session: AsyncSession) -> dict[str, Any]:
        sub = WebhookSubscription(
            name=clean[0], url=clean[1], events=clean[2], secret=secret, created_at=utcnow()
        )
        session.add(sub)
        await session.flush()
        return subscription_dict(sub)

    return CreatedSubscription(await ctx.write(unit), secret)


async def list_subscriptions(ctx: HubContext, actor: Principal) -> list[dict[str, Any]]:
    require_admin(actor)

    async def query(session: AsyncSession) -> list[dict[str, Any]]:
        subs = list(
            await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
        )
        counts = await session.execute(
            select(SyncDelivery.subscription_id, SyncDelivery.status, func.count())
            .where(SyncDelivery.status.in_(("pending", "failed")))
            .group_by(SyncDelivery.subscription_id, SyncDelivery.status)
        )
        by_sub: dict[int, dict[str, int]] = {}
        for sub_id, status, n in counts.all():
            by_sub.setdefault(sub_id, {})[status] = n
        out = []
        for sub in subs:
            data = subscription_dict(sub)
            data["pending"] = by_sub.get(sub.id, {}).get("pending", 0)
            data["failed"] = by_sub.get(sub.id, {}).get("failed", 0)
            out.append(data)
        return out

    return await ctx.read(query)


async def _get(session: AsyncSession, sub_id: int) -> WebhookSubscription:
    sub = await session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"webhook {sub_id} not found", code="webhook_not_found")
    return sub


async def update_subscription(
    ctx: HubContext,
    actor: Principal,
    sub_id: int,
    *,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    require_admin(actor)
    new_name = _clean_name(name) if name is not None else None
    new_url = _clean_url(url) if url is not None else None
    new_events = _clean_events(events) if events is not None else None
    if new_url is not None:
        await check_url(ctx.settings.destination_policy, new_url, field="url")

    async def unit(session: AsyncSession) -> dict[str, Any]:
        sub = await _get(session, sub_id)
        if new_name is not None:
            sub.name = new_name
        if new_url is not None:
            sub.url = new_url
        if new_events is not None:
            sub.events = new_events
        if active is not None:
            sub.is_active = active
        await session.flush()
        return subscription_dict(sub)

    return await ctx.write(unit)


async def delete_subscription(ctx: HubContext, actor: Principal, sub_id: int) -> None:
    require_admin(actor)

    async def unit(session: AsyncSession) -> None:
        await _get(session, sub_id)
        # Explicitly, not by the foreign keys' cascade alone: the log goes with it on every
        # backend, whatever the connection's foreign-key setting.
        deliveries = select(SyncDelivery.id).where(SyncDelivery.subscription_id == sub_id)
        await session.execute(delete(SyncAttempt).where(SyncAttempt.delivery_id.in_(deliveries)))
        await session.execute(delete(SyncDelivery).where(SyncDelivery.subscription_id == sub_id))
        await session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sub_id))

    await ctx.write(unit)


def delivery_dict(
    delivery: SyncDelivery, record: SyncRecord, attempts: list[SyncAttempt]
) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "idempotency_key": idempotency_key(record.id, delivery.subscription_id),
        "record_id": record.id,
        "event": record.event,
        "entity": record.entity,
        "entity_id": record.entity_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "last_error": delivery.last_error,
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": _iso(record.created_at),
        "log": [
            {
                "at": _iso(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


async def list_deliveries(
    ctx: HubContext,
    actor: Principal,
    sub_id: int,
    *,
    status: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The delivery log, newest first, each delivery with every attempt (oldest first)."""
    require_admin(actor)
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status must be one of {DELIVERY_STATUSES}", code="invalid_status")
    limit = max(1, min(limit, 200))

    async def query(session: AsyncSession) -> dict[str, Any]:
        await _get(session, sub_id)
        stmt = (
            select(SyncDelivery, SyncRecord)
            .join(SyncRecord, SyncRecord.id == SyncDelivery.record_id)
            .where(SyncDelivery.subscription_id == sub_id)
            .order_by(SyncDelivery.id.desc())
            .limit(limit + 1)
        )
        if status is not None:
            stmt = stmt.where(SyncDelivery.status == status)
        if before is not None:
            stmt = stmt.where(SyncDelivery.id < before)
        rows = (await session.execute(stmt)).all()
        page = rows[:limit]
        ids = [d.id for d, _ in page]
        log: dict[int, list[SyncAttempt]] = {}
        if ids:
            attempts = await session.scalars(
                select(SyncAttempt).where(SyncAttempt.delivery_id.in_(ids)).order_by(SyncAttempt.id)
            )
            for attempt in attempts:
                log.setdefault(attempt.delivery_id, []).append(attempt)
        items = [delivery_dict(d, r, log.get(d.id, [])) for d, r in page]
        return {"items": items, "next_before": ids[-1] if len(rows) > limit else None}

    return await ctx.read(query)


async def retry_failed(ctx: HubContext, actor: Principal, delivery_id: int) -> dict[str, Any]:
    """Put a failed delivery back in the queue with a fresh set of attempts."""
    require_admin(actor)

    async def unit(session: AsyncSession) -> dict[str, Any]:
        delivery = await session.get(SyncDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"delivery {delivery_id} not found", code="delivery_not_found")
        if delivery.status != "failed":
            raise Conflict("only a failed delivery can be retried", code="not_failed")
        delivery.status = "pending"
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        await session.flush()
        record = await session.get(SyncRecord, delivery.record_id)
        assert record is not None
        attempts = list(
            await session.scalars(
                select(SyncAttempt)
                .where(SyncAttempt.delivery_id == delivery.id)
                .order_by(SyncAttempt.id)
            )
        )
        return delivery_dict(delivery, record, attempts)

    return await ctx.write(unit)
