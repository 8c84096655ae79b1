"""The sales rules as pure functions: no database, no clock, so each is tested on its own.

* where a lead came from (the channel, the first-touch UTM and referrer, a Telegram deep link);
* whether a new conversation makes a lead, joins what the contact has open, or does nothing;
* which way a deal moves between stages, and that it never moves backwards without a reason;
* whether a deal may be won, lost or reopened;
* when two contacts are the same person (exact: join) or may be (weak: suggest);
* money as exact minor units from the decimal strings the API speaks.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.errors import Conflict, InvalidInput

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
#: Longest amount accepted, in minor units: 10^15 kopecks is ten trillion roubles.
MAX_AMOUNT_MINOR = 10**15
MAX_TEXT = 200


# --- lead source ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadSource:
    """A lead's source, flattened for reports; ``details`` keeps the rest (landing page…)."""

    channel: str
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _clip(value: Any, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _telegram_start(raw: Any) -> dict[str, Any]:
    """The ``/start`` payload: a string, or an object with ``payload`` and UTM keys."""
    if isinstance(raw, str):
        return {"payload": raw[:MAX_TEXT]} if raw.strip() else {}
    if isinstance(raw, Mapping):
        out: dict[str, Any] = {}
        payload = _clip(raw.get("payload"))
        if payload:
            out["payload"] = payload
        for key in UTM_KEYS:
            value = _clip(raw.get(key))
            if value:
                out[key] = value
        return out
    return {}


def lead_source(
    channel_type: str,
    conversation_attributes: Mapping[str, Any],
    contact_attributes: Mapping[str, Any] | None = None,
) -> LeadSource:
    """The source of a lead made from a conversation.

    The widget keeps the first touch (page, referrer, UTM parameters of its URL) in the
    conversation's ``first_touch``; the contact's is used when the conversation has none yet
    (the widget records it on the contact before the first message). Telegram keeps the deep-link
    payload in ``telegram_start`` and an advert link's ``utm_source`` / ``utm_campaign`` (from
    ``<source>--<campaign>``) beside it on the conversation.
    """
    touch = conversation_attributes.get("first_touch")
    if not isinstance(touch, Mapping) or not touch:
        fallback = (contact_attributes or {}).get("first_touch")
        touch = fallback if isinstance(fallback, Mapping) else {}
    details: dict[str, Any] = {}
    utm = {key: _clip(touch.get(key)) for key in UTM_KEYS}
    landing = _clip(touch.get("url"), 2000)
    if landing:
        details["landing_page"] = landing
    for key in ("utm_term", "utm_content", "gclid", "yclid"):
        value = _clip(touch.get(key))
        if value:
            details[key] = value
    start = _telegram_start(conversation_attributes.get("telegram_start"))
    if start:
        details["telegram_start"] = start
        kind = _clip(conversation_attributes.get("telegram_start_kind"))
        if kind:
            details["telegram_start_kind"] = kind
        for key in UTM_KEYS:
            utm[key] = utm[key] or start.get(key)
    # Telegram keeps an advert link's source and campaign on the conversation itself.
    for key in UTM_KEYS:
        utm[key] = utm[key] or _clip(conversation_attributes.get(key))
    return LeadSource(
        channel=channel_type[:30],
        utm_source=utm["utm_source"],
        utm_medium=utm["utm_medium"],
        utm_campaign=utm["utm_campaign"],
        referrer=_clip(touch.get("referrer"), 2000),
        details=details,
    )


# --- intake --------------------------------------------------------------------------------


class IntakeDecision(enum.StrEnum):
    NEW_LEAD = "new_lead"
    JOIN_LEAD = "join_lead"
    JOIN_DEAL = "join_deal"
    SKIP = "skip"


def intake_decision(
    *, auto_leads: bool, open_lead_id: int | None, open_deal_id: int | None
) -> IntakeDecision:
    """What a new conversation does: a returning contact's conversation joins his open deal
    (first) or open lead; a contact with neither gets a lead unless the channel turned
    automatic leads off. Joining happens even then: the conversation still belongs to the deal."""
    if open_deal_id is not None:
        return IntakeDecision.JOIN_DEAL
    if open_lead_id is not None:
        return IntakeDecision.JOIN_LEAD
    return IntakeDecision.NEW_LEAD if auto_leads else IntakeDecision.SKIP


def auto_leads_enabled(channel_config: Mapping[str, Any]) -> bool:
    """Automatic leads are on unless the channel says ``auto_leads: false``."""
    return channel_config.get("auto_leads", True) is not False


def validate_auto_leads(config: Mapping[str, Any]) -> bool | None:
    """The ``auto_leads`` channel setting checked: a boolean, or absent (None)."""
    if "auto_leads" not in config:
        return None
    value = config["auto_leads"]
    if not isinstance(value, bool):
        raise InvalidInput("auto_leads must be true or false", code="invalid_auto_leads")
    return value


# --- stages --------------------------------------------------------------------------------


class Direction(enum.StrEnum):
    INITIAL = "initial"
    FORWARD = "forward"
    BACKWARD = "backward"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class StageInfo:
    id: int
    pipeline_id: int
    position: int
    kind: str  # open, won, lost


def clean_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = reason.strip()
    return text[:2000] if text else None


def stage_move(deal_status: str, current: StageInfo, target: StageInfo, reason: str | None) -> str:
    """The direction of a move from ``current`` to ``target``, or an error.

    Only an open deal moves, only to an open stage of its own pipeline, and a move to an earlier
    stage needs a reason: a deal never moves backwards silently.
    """
    if deal_status != "open":
        raise Conflict("the deal is closed; reopen it first", code="deal_closed")
    if target.pipeline_id != current.pipeline_id:
        raise InvalidInput("the stage is not in the deal's pipeline", code="stage_not_in_pipeline")
    if target.kind != "open":
        raise InvalidInput("won and lost are set with /won and /lost", code="use_won_or_lost")
    if target.id == current.id:
        raise Conflict("the deal is already in this stage", code="same_stage")
    if (target.position, target.id) > (current.position, current.id):
        return Direction.FORWARD.value
    if clean_reason(reason) is None:
        raise InvalidInput("moving a deal back needs a reason", code="reason_required")
    return Direction.BACKWARD.value


def check_close(deal_status: str, outcome: str, reason: str | None) -> str | None:
    """A deal is won or lost once, from open; lost needs a reason. Returns the clean reason."""
    if deal_status != "open":
        raise Conflict(f"the deal is already {deal_status}", code="deal_closed")
    cleaned = clean_reason(reason)
    if outcome == Direction.LOST.value and cleaned is None:
        raise InvalidInput("a lost deal needs a reason", code="reason_required")
    return cleaned


def check_reopen(deal_status: str, reason: str | None) -> str:
    """Reopening takes a closed deal back to an open stage: a backward move, so it needs a
    reason too."""
    if deal_status == "open":
        raise Conflict("the deal is open already", code="deal_open")
    cleaned = clean_reason(reason)
    if cleaned is None:
        raise InvalidInput("reopening a deal needs a reason", code="reason_required")
    return cleaned


def pick_lost_reason(reason: str, configured: Iterable[str]) -> str:
    """A reason from the configured list keeps the list's spelling (so reports group it);
    anything else is kept as the operator wrote it."""
    folded = reason.strip().casefold()
    for name in configured:
        if name.casefold() == folded:
            return name
    return reason.strip()


# --- duplicates ----------------------------------------------------------------------------


class MatchStrength(enum.StrEnum):
    EXACT = "exact"
    WEAK = "weak"


@dataclass(frozen=True, slots=True)
class ContactKeys:
    """What two contacts are compared by: E.164 phones, emails, verified identities, name."""

    id: int
    name: str = ""
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    #: Identities a channel verified (a site's own user id proven with identifier_hash).
    verified: frozenset[str] = frozenset()
    #: The phones and emails among the above that their owner proved (``ContactPhone.verified``).
    proven_phones: frozenset[str] = frozenset()
    proven_emails: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Match:
    strength: MatchStrength
    reasons: tuple[str, ...]


def match_reason(a: ContactKeys, b: ContactKeys, reasons: tuple[str, ...]) -> str:
    """The reasons of an exact match as operators read them, each shared phone or email said
    verified only when both contacts' owners proved it: «phone (verified), email (unverified)».
    An unverified match links contacts for operators; it proves nothing to a customer."""
    proven = {
        "phone": a.proven_phones & b.proven_phones,
        "email": a.proven_emails & b.proven_emails,
    }
    out = []
    for reason in reasons:
        if reason in proven:
            out.append(f"{reason} ({'verified' if proven[reason] else 'unverified'})")
        else:
            out.append(reason)
    return ", ".join(out)


def _name_tokens(name: str) -> frozenset[str]:
    return frozenset(t for t in name.casefold().replace(".", " ").split() if len(t) > 1)


def _local_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())[-7:]


def match_contacts(a: ContactKeys, b: ContactKeys) -> Match | None:
    """Exact on a shared phone, email (case-blind) or verified identity: the same person.
    Weak on the same full name, or the same surname or first name with the same last seven
    digits of a phone in another country code: worth showing an operator, not joining."""
    if a.id == b.id:
        return None
    reasons: list[str] = []
    if a.phones & b.phones:
        reasons.append("phone")
    if {e.casefold() for e in a.emails} & {e.casefold() for e in b.emails}:
        reasons.append("email")
    if a.verified & b.verified:
        reasons.append("identity")
    if reasons:
        return Match(MatchStrength.EXACT, tuple(reasons))
    tokens_a, tokens_b = _name_tokens(a.name), _name_tokens(b.name)
    if tokens_a and tokens_a == tokens_b and len(tokens_a) >= 2:
        reasons.append("name")
    elif tokens_a & tokens_b:
        tails_a = {_local_digits(p) for p in a.phones}
        if tails_a & {_local_digits(p) for p in b.phones}:
            reasons.append("name_and_phone_tail")
    if reasons:
        return Match(MatchStrength.WEAK, tuple(reasons))
    return None


# --- money ---------------------------------------------------------------------------------


def parse_amount(value: str | int | float | Decimal) -> int:
    """A decimal amount ("150000.00", 150000) as minor units; at most two decimals."""
    if isinstance(value, bool):
        raise InvalidInput("amount must be a decimal string like 150000.00", code="invalid_amount")
    try:
        amount = Decimal(str(value).strip().replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise InvalidInput(
            "amount must be a decimal string like 150000.00", code="invalid_amount"
        ) from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidInput("amount must be zero or more", code="invalid_amount")
    minor = amount * 100
    if minor != minor.to_integral_value():
        raise InvalidInput("amount has at most two decimals", code="invalid_amount")
    if minor > MAX_AMOUNT_MINOR:
        raise InvalidInput("amount is too large", code="invalid_amount")
    return int(minor)


def format_amount(minor: int) -> str:
    """Minor units as the API's decimal string: 15000000 -> "150000.00"."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def clean_currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput("currency is a three-letter code like RUB", code="invalid_currency")
    return code
