"""Every domain event is documented: a docstring of its own, a unique name, a place in
docs/api.md (Datasette's test_docs.py, for events)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from hub import events

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _module_event_classes() -> list[type[events.Event]]:
    return [
        obj
        for _, obj in inspect.getmembers(events, inspect.isclass)
        if issubclass(obj, events.Event)
        and obj is not events.Event
        and obj.__module__ == events.__name__
    ]


def _all_event_classes() -> list[type[events.Event]]:
    found = list(events.ALL_EVENTS)
    found += [cls for cls in _module_event_classes() if cls not in found]
    return found


def test_every_event_subclass_is_listed_in_all_events() -> None:
    unlisted = [cls.__name__ for cls in _module_event_classes() if cls not in events.ALL_EVENTS]
    assert unlisted == [], "events missing from hub.events.ALL_EVENTS"
    assert len(set(events.ALL_EVENTS)) == len(events.ALL_EVENTS)


@pytest.mark.parametrize("cls", _all_event_classes(), ids=lambda c: c.__name__)
def test_event_has_its_own_docstring(cls: type[events.Event]) -> None:
    doc = cls.__dict__.get("__doc__")
    assert isinstance(doc, str) and doc.strip(), f"{cls.__name__} has no docstring"
    assert doc.strip() != (events.Event.__doc__ or "").strip(), f"{cls.__name__} copies Event's"


def test_event_names_are_unique_and_dotted() -> None:
    names = [cls.name for cls in _all_event_classes()]
    assert all(isinstance(n, str) and n for n in names), names
    for name in names:
        assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", name), name
    assert len(names) == len(set(names)), f"duplicate event names in {names}"


@pytest.mark.parametrize("cls", _all_event_classes(), ids=lambda c: c.__name__)
def test_event_appears_in_api_docs(cls: type[events.Event]) -> None:
    text = API_DOC.read_text(encoding="utf-8")
    assert f"`{cls.name}`" in text, f"{cls.name} is not documented in docs/api.md"
