"""The sales rules as pure functions: lead source, intake decisions, stage moves, duplicates,
money; with property tests for phone normalisation and "never backwards without a reason"."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crm_sync import rules
from hub.crm_sync.rules import ContactKeys, Direction, IntakeDecision, StageInfo
from hub.errors import Conflict, InvalidInput
from hub.phones import normalize_phone

# --- lead source ---------------------------------------------------------------------------


def test_widget_first_touch_gives_utm_referrer_and_landing_page() -> None:
    attrs = {
        "first_touch": {
            "url": "https://shop.example/stoves?utm_source=yandex&utm_campaign=winter",
            "referrer": "https://yandex.ru/search",
            "utm_source": "yandex",
            "utm_medium": "cpc",
            "utm_campaign": "winter",
            "yclid": "123",
        },
        "last_touch": {"utm_source": "google"},
    }
    src = rules.lead_source("widget", attrs)
    assert (src.channel, src.utm_source, src.utm_medium, src.utm_campaign) == (
        "widget",
        "yandex",
        "cpc",
        "winter",
    )
    assert src.referrer == "https://yandex.ru/search"
    assert src.details["landing_page"].startswith("https://shop.example/stoves")
    assert src.details["yclid"] == "123"


def test_contact_first_touch_is_used_when_the_conversation_has_none_yet() -> None:
    src = rules.lead_source("widget", {}, {"first_touch": {"utm_source": "vk"}})
    assert src.utm_source == "vk"
    assert (
        rules.lead_source(
            "widget", {"first_touch": {"utm_source": "x"}}, {"first_touch": {"utm_source": "vk"}}
        ).utm_source
        == "x"
    )


def test_telegram_start_payload_as_text_or_object() -> None:
    text = rules.lead_source("telegram", {"telegram_start": "promo42"})
    assert text.details["telegram_start"] == {"payload": "promo42"}
    assert text.utm_source is None
    obj = rules.lead_source(
        "telegram",
        {"telegram_start": {"payload": "p", "utm_source": "vk", "utm_campaign": "spring"}},
    )
    assert (obj.utm_source, obj.utm_campaign) == ("vk", "spring")
    assert obj.details["telegram_start"]["payload"] == "p"


def test_telegram_advert_link_as_the_telegram_channel_stores_it() -> None:
    """hub/channels/telegram/deeplink.py: ``yandex--winter`` is kept as the payload, its kind,
    and utm_source / utm_campaign on the conversation."""
    attrs = {
        "telegram_start": "yandex--winter",
        "telegram_start_kind": "advert",
        "utm_source": "yandex",
        "utm_campaign": "winter",
    }
    src = rules.lead_source("telegram", attrs)
    assert (src.utm_source, src.utm_campaign) == ("yandex", "winter")
    assert src.details["telegram_start"] == {"payload": "yandex--winter"}
    assert src.details["telegram_start_kind"] == "advert"


def test_no_touch_gives_the_channel_alone() -> None:
    src = rules.lead_source("api", {"first_touch": "garbage", "telegram_start": 5})
    assert src == rules.LeadSource(channel="api")


# --- intake --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auto", "lead", "deal", "expected"),
    [
        (True, None, None, IntakeDecision.NEW_LEAD),
        (False, None, None, IntakeDecision.SKIP),
        (True, 3, None, IntakeDecision.JOIN_LEAD),
        (True, None, 7, IntakeDecision.JOIN_DEAL),
        (True, 3, 7, IntakeDecision.JOIN_DEAL),
        (False, None, 7, IntakeDecision.JOIN_DEAL),
    ],
)
def test_intake_decision(auto: bool, lead: int | None, deal: int | None, expected: str) -> None:
    assert rules.intake_decision(auto_leads=auto, open_lead_id=lead, open_deal_id=deal) == expected


def test_auto_leads_setting() -> None:
    assert rules.auto_leads_enabled({})
    assert not rules.auto_leads_enabled({"auto_leads": False})
    assert rules.validate_auto_leads({}) is None
    assert rules.validate_auto_leads({"auto_leads": False}) is False
    with pytest.raises(InvalidInput):
        rules.validate_auto_leads({"auto_leads": "no"})


# --- stages --------------------------------------------------------------------------------


def _stage(id: int, pos: int, kind: str = "open", pipeline: int = 1) -> StageInfo:
    return StageInfo(id, pipeline, pos, kind)


def test_forward_needs_no_reason_backward_does() -> None:
    assert rules.stage_move("open", _stage(1, 0), _stage(2, 1), None) == "forward"
    with pytest.raises(InvalidInput) as err:
        rules.stage_move("open", _stage(2, 1), _stage(1, 0), "  ")
    assert err.value.code == "reason_required"
    assert rules.stage_move("open", _stage(2, 1), _stage(1, 0), "client asked") == "backward"


@pytest.mark.parametrize(
    ("status", "target", "code"),
    [
        ("won", _stage(2, 1), "deal_closed"),
        ("open", _stage(2, 1, pipeline=2), "stage_not_in_pipeline"),
        ("open", _stage(9, 5, "won"), "use_won_or_lost"),
        ("open", _stage(1, 0), "same_stage"),
    ],
)
def test_refused_moves(status: str, target: StageInfo, code: str) -> None:
    with pytest.raises((InvalidInput, Conflict)) as err:
        rules.stage_move(status, _stage(1, 0), target, "why")
    assert err.value.code == code


@given(
    st.integers(0, 50),
    st.integers(0, 50),
    st.integers(1, 1000),
    st.integers(1, 1000),
    st.one_of(st.none(), st.text(max_size=20)),
)
def test_a_deal_never_silently_moves_backwards(
    from_pos: int, to_pos: int, from_id: int, to_id: int, reason: str | None
) -> None:
    """Whatever the positions and reason: a move to an earlier stage is either refused or
    recorded as backward with a non-empty reason; a move to a later one is forward."""
    current, target = _stage(from_id, from_pos), _stage(to_id, to_pos)
    try:
        direction = rules.stage_move("open", current, target, reason)
    except (InvalidInput, Conflict) as exc:
        assert to_id == from_id or exc.code == "reason_required"
        assert (to_pos, to_id) < (from_pos, from_id) or to_id == from_id
        return
    if (to_pos, to_id) > (from_pos, from_id):
        assert direction == Direction.FORWARD
    else:
        assert direction == Direction.BACKWARD
        assert rules.clean_reason(reason) is not None


def test_close_and_reopen_rules() -> None:
    assert rules.check_close("open", "won", None) is None
    with pytest.raises(InvalidInput):
        rules.check_close("open", "lost", "")
    assert rules.check_close("open", "lost", " price ") == "price"
    with pytest.raises(Conflict):
        rules.check_close("lost", "won", None)
    with pytest.raises(Conflict):
        rules.check_reopen("open", "x")
    with pytest.raises(InvalidInput):
        rules.check_reopen("won", None)
    assert rules.pick_lost_reason("too EXPENSIVE", ["Too expensive"]) == "Too expensive"
    assert rules.pick_lost_reason("moved abroad", ["Too expensive"]) == "moved abroad"


# --- duplicates ----------------------------------------------------------------------------


def test_exact_matches_phone_email_identity() -> None:
    a = ContactKeys(1, "Ivan", frozenset({"+79161234567"}), frozenset({"ivan@x.ru"}))
    assert rules.match_contacts(a, ContactKeys(2, "", frozenset({"+79161234567"}))) == (
        rules.Match(rules.MatchStrength.EXACT, ("phone",))
    )
    b = ContactKeys(3, "", emails=frozenset({"IVAN@X.RU"}))
    assert rules.match_contacts(a, b).strength == "exact"  # type: ignore[union-attr]
    c = ContactKeys(4, verified=frozenset({"widget:user:9"}))
    d = ContactKeys(5, verified=frozenset({"widget:user:9"}))
    assert rules.match_contacts(c, d).reasons == ("identity",)  # type: ignore[union-attr]
    assert rules.match_contacts(a, a) is None


def test_weak_matches_are_only_suggestions() -> None:
    a = ContactKeys(1, "Ivan Petrov", frozenset({"+79161234567"}))
    b = ContactKeys(2, "petrov ivan")
    assert rules.match_contacts(a, b) == rules.Match(rules.MatchStrength.WEAK, ("name",))
    c = ContactKeys(3, "Ivan", frozenset({"+380161234567"}))
    assert rules.match_contacts(a, c) == rules.Match(
        rules.MatchStrength.WEAK, ("name_and_phone_tail",)
    )
    assert rules.match_contacts(a, ContactKeys(4, "Ivan")) is None
    assert rules.match_contacts(ContactKeys(5, "Anna"), ContactKeys(6, "Oleg")) is None


# --- phones --------------------------------------------------------------------------------

RU_SPELLINGS = (
    "8 ({a}) {b}-{c}-{d}",
    "+7 {a} {b}{c}{d}",
    "+7({a}){b}-{c}{d}",
    "8{a}{b}{c}{d}",
    "7 {a} {b} {c} {d}",
    "{a}{b}{c}{d}",
)


@given(
    st.sampled_from(["916", "903", "925", "985", "495", "812"]),
    st.integers(0, 999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(RU_SPELLINGS),
)
def test_every_local_spelling_of_a_russian_number_is_one_e164(
    a: str, b: int, c: int, d: int, spelling: str
) -> None:
    raw = spelling.format(a=a, b=f"{b:03d}", c=f"{c:02d}", d=f"{d:02d}")
    expected = f"+7{a}{b:03d}{c:02d}{d:02d}"
    assert normalize_phone(raw) == expected


@given(st.text(max_size=45))
def test_normalisation_answers_e164_or_refuses(raw: str) -> None:
    try:
        e164 = normalize_phone(raw)
    except InvalidInput as exc:
        assert exc.code == "invalid_phone"
        return
    assert e164.startswith("+") and e164[1:].isdigit()
    assert normalize_phone(e164) == e164  # idempotent
    assert phonenumbers.is_possible_number(phonenumbers.parse(e164))


# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "minor"),
    [
        ("150000.00", 15_000_000),
        ("0", 0),
        (150000, 15_000_000),
        ("99.9", 9990),
        ("1 500,50", 150050),
    ],
)
def test_amounts(raw: str | int, minor: int) -> None:
    assert rules.parse_amount(raw) == minor


@pytest.mark.parametrize("raw", ["-1", "1.001", "abc", "NaN", "Infinity", "1e20", True])
def test_bad_amounts(raw: object) -> None:
    with pytest.raises(InvalidInput):
        rules.parse_amount(raw)  # type: ignore[arg-type]


@given(st.integers(0, rules.MAX_AMOUNT_MINOR))
def test_amount_round_trip(minor: int) -> None:
    assert rules.parse_amount(rules.format_amount(minor)) == minor
