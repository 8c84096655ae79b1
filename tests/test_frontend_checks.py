"""The browser code's checks: ESLint (eslint.config.mjs) and TypeScript's checker over plain
JavaScript (tsconfig.json, ``checkJs``) on the operator pages and the widget.

``make check`` runs them too (``make lint-js typecheck-js``); here they run in ``make test``, so
``.ci/run`` enforces them. They need Node.js and npm: without them the checks are skipped on a
workstation and fail under ``CI=true``. The packages come from ``npm ci`` (the Makefile's stamp:
installed once, again when package-lock.json changes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
FRONT_END = (ROOT / "hub" / "inbox" / "static", ROOT / "widget")
SCRIPTS = sorted(path for folder in FRONT_END for path in folder.glob("*.js"))
PAGES = sorted(path for folder in FRONT_END for path in folder.glob("*.html"))


def _node_tools() -> None:
    """Node.js, npm and make present, and the checkers installed."""
    missing = [tool for tool in ("node", "npm", "make") if shutil.which(tool) is None]
    if missing:
        why = f"the front end's checks need {', '.join(missing)}"
        if IN_CI:
            pytest.fail(f"{why} (.ci/run installs nodejs and npm)", pytrace=False)
        pytest.skip(why)
    _run(["make", "--no-print-directory", "node_modules/.installed-stamp"])


def _run(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )


def test_every_script_is_type_checked() -> None:
    assert SCRIPTS, "no scripts found"
    unchecked = [p.name for p in SCRIPTS if not p.read_text().startswith("// @ts-check\n")]
    assert unchecked == [], f"start these with // @ts-check: {unchecked}"


def test_pages_have_no_inline_script() -> None:
    """An inline script escapes both checkers (and the inbox's Content-Security-Policy)."""
    inline = [p.name for p in PAGES if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", p.read_text())]
    assert PAGES, "no pages found"
    assert inline == [], f"move these pages' inline scripts into files: {inline}"


def test_eslint_passes() -> None:
    _node_tools()
    result = _run(["npm", "run", "--silent", "lint"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_passes() -> None:
    _node_tools()
    result = _run(["npm", "run", "--silent", "typecheck"])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["hub/inbox/static/example.js", "widget/example.js"])
def test_eslint_refuses_html_sinks(path: str) -> None:
    """The house rule: nothing is written as HTML, in the pages or the widget."""
    _node_tools()
    sinks = {
        "innerHTML": "node.innerHTML = text;",
        "outerHTML": "node['outerHTML'] = text;",
        "insertAdjacentHTML": "node.insertAdjacentHTML('beforeend', text);",
        "write": "document.write(text);",
    }
    for sink, line in sinks.items():
        code = (
            "(function () {\n  'use strict';\n  var node = document.body, text = location.hash;\n"
            f"  {line}\n}})();\n"
        )
        result = _run(["npx", "--no-install", "eslint", "--stdin", "--stdin-filename", path], code)
        assert result.returncode == 1, (sink, result.stdout + result.stderr)
        assert "no-restricted-properties" in result.stdout, (sink, result.stdout)
    clean = "(function () {\n  'use strict';\n  document.body.textContent = location.hash;\n})();\n"
    result = _run(["npx", "--no-install", "eslint", "--stdin", "--stdin-filename", path], clean)
    assert result.returncode == 0, result.stdout + result.stderr
