"""The browser code's checks: ESLint (eslint.config.mjs) and TypeScript's checker over plain
JavaScript (tsconfig.json, ``checkJs``) on the operator pages and the widget.

``make check`` runs them too (``make lint-js typecheck-js``); here they run in ``make test``, so
``.ci/run`` enforces them. They need Node.js and npm: without them the checks are skipped on a
workstation and fail under ``CI=true``. The packages come from ``npm ci`` (the Makefile's stamp:
installed once, again when package-lock.json changes).
"""

from __future__ import annotations

import json
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


#: ESLint's own API in one Node.js process: each text of the JSON on stdin linted as the file
#: ``path`` (as ``eslint --stdin --stdin-filename path`` does, with the project's
#: eslint.config.mjs), and for each, its count of errors and the rules that reported. One process
#: for every text instead of an ``npx eslint`` each (about a second of start-up apiece).
LINT_TEXTS = """
import { ESLint } from "eslint";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { path, texts } = JSON.parse(input);
const eslint = new ESLint();
const found = [];
for (const text of texts) {
  const [result] = await eslint.lintText(text, { filePath: path });
  found.push({ errors: result.errorCount, rules: result.messages.map((m) => m.ruleId) });
}
console.log(JSON.stringify(found));
"""


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
    texts = [
        "(function () {\n  'use strict';\n  var node = document.body, text = location.hash;\n"
        f"  {line}\n}})();\n"
        for line in sinks.values()
    ]
    clean = "(function () {\n  'use strict';\n  document.body.textContent = location.hash;\n})();\n"
    result = _run(
        ["node", "--input-type=module", "-e", LINT_TEXTS],
        json.dumps({"path": path, "texts": [*texts, clean]}),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    *refused, accepted = json.loads(result.stdout)
    for sink, found in zip(sinks, refused, strict=True):
        assert found["errors"] >= 1, (sink, found)
        assert "no-restricted-properties" in found["rules"], (sink, found)
    assert accepted == {"errors": 0, "rules": []}, accepted
