"""The words of the operator pages and the widget live in one table per language.

Each script keeps its texts in ``en: {…}`` and ``ru: {…}`` tables (inbox.js's TEXTS, which the
inbox's feature scripts extend with HubInbox.addTexts; the widget's T), the markup names them in
``data-t*`` attributes, and the code asks for them with ``t('key')``. Read from the files, no
browser: a Russian word outside a table, a key missing in one language or a key the markup or
the code uses that no table has fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "hub" / "inbox" / "static"
SCRIPTS = sorted([*STATIC.glob("*.js"), *(ROOT / "widget").glob("*.js")])
PAGES = sorted(STATIC.glob("*.html"))
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
KEY = re.compile(r"(?:^|[{,])\s*(\w+)\s*:\s*['\"]", re.MULTILINE)
#: Russian has more than English: plural forms (deals_few, deals_many), and the activities it
#: tells again from their meta (English shows the hub's own words for them).
RU_ONLY = re.compile(r"^(act_\w+|\w+_(few|many))$")


def _blocks(source: str, opening: re.Pattern[str]) -> list[tuple[int, int, str]]:
    """Each ``name: {…}`` the pattern finds: its start, end and name."""
    found = []
    for match in opening.finditer(source):
        depth = 0
        for end in range(source.index("{", match.start()), len(source)):
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            if depth == 0:
                found.append((match.start(), end + 1, match.group(1)))
                break
    return found


def _tables(source: str) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {"en": set(), "ru": set()}
    for start, end, lang in _blocks(source, re.compile(r"\b(en|ru)\s*:\s*\{")):
        keys[lang] |= set(KEY.findall(source[start:end].split("{", 1)[1]))
    return keys


def _page_scripts(page: Path) -> list[Path]:
    names = re.findall(r'<script src="/inbox/static/([\w.-]+\.js)"', page.read_text())
    return [STATIC / name for name in names]


def _page_tables(page: Path) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {"en": set(), "ru": set()}
    for script in _page_scripts(page):
        for lang, keys in _tables(script.read_text()).items():
            merged[lang] |= keys
    return merged


def test_the_pages_and_scripts_are_found() -> None:
    assert len(SCRIPTS) >= 10 and len(PAGES) == 5
    assert all(_page_scripts(page) for page in PAGES)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_russian_words_are_only_in_the_tables(script: Path) -> None:
    """(English ones cannot be told from code; the en table names Russian as the other language.)"""
    source = script.read_text()
    tables = _blocks(source, re.compile(r"\b(en|ru|DEFAULT_NAMES_RU|CODES_RU)\s*=?\s*:?\s*\{"))
    outside = [
        source[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
        for m in CYRILLIC.finditer(source)
        if not any(start <= m.start() < end for start, end, _ in tables)
    ]
    assert outside == [], f"{script.name}: Russian outside its tables: {outside[:3]}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_both_languages_have_the_same_texts(script: Path) -> None:
    keys = _tables(script.read_text())
    assert set(keys["en"]) - set(keys["ru"]) == set(), "missing in Russian"
    extra = {key for key in keys["ru"] - keys["en"] if not RU_ONLY.match(key)}
    assert extra == set(), "missing in English"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_markup_names_texts_of_both_languages(page: Path) -> None:
    used = set(re.findall(r'\bdata-t(?:-[\w-]+)?="(\w+)"', page.read_text()))
    tables = _page_tables(page)
    assert used, page.name
    assert used - tables["en"] == set(), "not in the English table"
    assert used - tables["ru"] == set(), "not in the Russian table"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_code_asks_for_texts_the_tables_have(page: Path) -> None:
    tables = _page_tables(page)
    for script in _page_scripts(page):
        asked = set(re.findall(r"\bt\('(\w+)'\s*[,)]", script.read_text()))
        unknown = asked - tables["en"] - tables["ru"]
        assert unknown == set(), f"{script.name} asks for {sorted(unknown)}"


def test_the_widget_asks_for_texts_its_table_has() -> None:
    source = (ROOT / "widget" / "hub-widget.js").read_text()
    tables = _tables(source)
    asked = set(re.findall(r"\bt\('(\w+)'\s*[,)]", source))
    assert asked and asked - tables["en"] == set() and asked - tables["ru"] == set()
