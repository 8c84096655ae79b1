"""README.md stays true to the code: every ``HUB_*`` setting is in its table, its links
resolve, and it opens with the two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.settings import Settings

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def _table_rows() -> dict[str, str]:
    """``HUB_X`` -> its default cell, from the Configuration table."""
    rows: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`(HUB_[A-Z0-9_]+)`\s*\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(field: str) -> None:
    assert f"HUB_{field.upper()}" in _table_rows(), f"HUB_{field.upper()} missing from README.md"


def test_the_table_names_no_setting_that_does_not_exist() -> None:
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert set(_table_rows()) - known == set()


def test_plain_defaults_in_the_table_match_the_code() -> None:
    checked = 0
    for env, cell in _table_rows().items():
        m = re.fullmatch(r"`([^`]*)`", cell)
        if not m:
            continue  # a default described in words ("unset", "the repository's widget/")
        default = Settings.model_fields[env.removeprefix("HUB_").lower()].default
        value = m.group(1)
        if isinstance(default, bool):
            assert value == str(default).lower(), env
        elif isinstance(default, (int, float)):
            assert float(value) == float(default), env
        else:
            assert value == str(default), env
        checked += 1
    assert checked >= 15


def test_readme_opens_with_the_two_commands_and_keeps_the_figures_marker() -> None:
    text = README.read_text(encoding="utf-8")
    head = text[:1500]
    assert "make run" in head and "make test" in head
    assert "<!-- figures: filled from bench/results by the benchmark run -->" in text.splitlines()


def test_relative_links_resolve() -> None:
    docs = REPO / "docs"
    for doc in [README, docs / "operators.md", docs / "admins.md", docs / "api.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
