"""Core code asks a channel's capabilities, never its type name (DESIGN.md sections 3 and 6):
a reply is refused on a channel that cannot be answered and files on one that cannot send
them, each with a clear 422 and nothing written; notes go anywhere."""

from __future__ import annotations

import ast
from pathlib import Path

from aiohttp.test_utils import TestClient

from hub.channels.capabilities import Capabilities
from hub.channels.registry import BUILT_IN
from hub.http import CTX
from tests.helpers import customer_says, make_api_channel, make_operator
from tests.test_widget_api import expect_error, operator_messages

HUB = Path(__file__).resolve().parent.parent / "hub"
#: Each channel's own package, and the migrations, may name their types; the rest of
#: ``hub/channels`` (registry, admin, routes, specs) is core like everything else.
CHANNELS = HUB / "channels"
OWN_TYPE = (CHANNELS / "api.py", CHANNELS / "widget", CHANNELS / "telegram", HUB / "migrations")
TYPE_NAMES = frozenset(spec.type for spec in BUILT_IN)


def type_comparisons(source: str) -> list[str]:
    """Comparisons of anything with a channel type's name, as ``x == "telegram"`` or
    ``t in {"api", …}`` write them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        for side in (node.left, *node.comparators):
            literals = [side, *getattr(side, "elts", [])]
            for lit in literals:
                if isinstance(lit, ast.Constant) and lit.value in TYPE_NAMES:
                    found.append(ast.unparse(node))
    return found


def test_the_scanner_finds_comparisons() -> None:
    assert type_comparisons('x = ch.type == "telegram"\ny = t in {"api", "z"}') == [
        "ch.type == 'telegram'",
        "t in {'api', 'z'}",
    ]


def test_core_code_compares_no_channel_type() -> None:
    found = {}
    for path in sorted(HUB.rglob("*.py")):
        if any(path.is_relative_to(p) for p in OWN_TYPE):
            continue
        if hits := type_comparisons(path.read_text(encoding="utf-8")):
            found[str(path.relative_to(HUB))] = hits
    assert found == {}


async def test_a_channel_that_cannot_be_answered_takes_notes_only(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    admin = await make_operator(client, role="admin")
    channel = await make_api_channel(client, admin)
    said = await customer_says(client, channel, "📞")
    conv_id = said["conversation"]["id"]
    # A call-tracking channel would register this; here the API type is told so for the test.
    client.app[CTX].channel_capabilities["api"] = Capabilities(replies=False)
    resp = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"body": "Hi"}, headers=admin.headers
    )
    await expect_error(resp, 422, "replies_not_supported")
    assert len(await operator_messages(client, admin, conv_id)) == 1
    note = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"body": "called back, no answer", "private": True},
        headers=admin.headers,
    )
    assert note.status == 201, await note.text()


def test_built_in_capabilities() -> None:
    caps = {spec.type: spec.capabilities for spec in BUILT_IN}
    assert [t for t, c in caps.items() if c.files] == ["widget", "telegram", "email"]
    # Email replies go through the outbox (SMTP), never the live layer.
    assert caps["email"].delivers({}) and not caps["email"].live and caps["email"].threads
    assert caps["api"].delivers({}) is False
    assert caps["api"].delivers({"callback_url": "https://crm.example/hook"}) is True
    assert caps["widget"].delivers({}) and caps["widget"].typing
