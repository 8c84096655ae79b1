"""The admin area's telephony form (``admin-channels.js``) asks each provider the secrets its
dialect declares, no more and no fewer, and lists every provider in the registry's order: the
page keeps its own table (its labels are in the admin's words), so this keeps it honest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hub.channels.calls.dialects import DIALECTS

SCRIPT = Path(__file__).parent.parent / "hub" / "inbox" / "static" / "admin-channels.js"


def _table(name: str) -> str:
    """The literal assigned to ``var <name> = …;``, as JSON (the page quotes with ')."""
    match = re.search(rf"var {name} = (.*?);\n", SCRIPT.read_text(), re.S)
    assert match is not None, f"no {name} in {SCRIPT.name}"
    return re.sub(r"(\b[a-z_]+):", r'"\1":', match.group(1).replace("'", '"'))


def test_the_form_lists_every_provider_in_the_registrys_order() -> None:
    providers = json.loads(_table("PROVIDERS"))
    assert [p[0] for p in providers] == list(DIALECTS)


def test_the_form_asks_each_provider_its_declared_secrets() -> None:
    asked = json.loads(_table("CALL_SECRETS"))
    declared = {
        name: [[s.key, s.required] for s in dialect.secrets]
        for name, dialect in DIALECTS.items()
        if dialect.secrets
    }
    assert {name: [[s[0], s[2]] for s in secrets] for name, secrets in asked.items()} == declared
