"""The check every test's answers go through (``tests/answer_check.py``) finds drift.

Every other test's hub answers are checked when it ends (``conftest.aiohttp_client_cls``), and
a test whose answers all match proves nothing about the check itself; these make it fail on
purpose: a real route that starts sending a field its model lacks, and answers that break the
document each in one way.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.app import create_app
from hub.inbox import directory
from hub.settings import Settings
from tests.answer_check import Answer, AnswerBook, problems_of
from tests.helpers import make_operator, make_team

NOW = "2026-12-06T10:00:00.000001Z"
TEAM = {"id": 1, "name": "Sales", "created_at": NOW, "operator_ids": [2]}


async def test_a_field_a_route_starts_sending_is_reported(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub whose team answer gains a field no model declares: the book reports it, at the
    field, and the same answer without it passes."""
    real = directory.team_dict

    def leaky(team: Any, member_ids: list[int] | None = None) -> dict[str, Any]:
        return {**real(team, member_ids), "internal_note": "not for the API"}

    book = AnswerBook()
    app = create_app(settings)
    book.hook(app)
    # Not the suite's aiohttp_client: its own check would fail this test at teardown.
    async with TestClient(TestServer(app)) as client:
        user = await make_operator(client)
        await make_team(client, "Sales")
        resp = await client.get("/api/v1/teams", headers=user.headers)
        assert resp.status == 200
        assert list(book.problems()) == []
        monkeypatch.setattr(directory, "team_dict", leaky)
        resp = await client.get("/api/v1/teams", headers=user.headers)
        assert resp.status == 200
        assert (await resp.json())["items"][0]["internal_note"] == "not for the API"
    found = list(book.problems())
    assert len(found) == 1, found
    assert found[0].startswith("GET /api/v1/teams -> 200: at items/0:"), found
    assert "internal_note" in found[0]
    with pytest.raises(AssertionError, match="internal_note"):
        book.check()


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (Answer("get", "/api/v1/teams", 200, "application/json", {"items": [TEAM]}), None),
        (
            Answer("get", "/api/v1/teams", 418, "application/json", {"items": []}),
            "status not in the document",
        ),
        (
            Answer("get", "/api/v1/teams", 200, "text/html", None),
            "content type text/html not in the document",
        ),
        (
            Answer(
                "get",
                "/api/v1/teams",
                200,
                "application/json",
                {"items": [{k: v for k, v in TEAM.items() if k != "name"}]},
            ),
            'at items/0: "name" is a required property',
        ),
        (
            Answer(
                "get",
                "/api/v1/teams",
                200,
                "application/json",
                {"items": [{**TEAM, "created_at": "yesterday"}]},
            ),
            'at items/0/created_at: "yesterday" is not a "date-time"',
        ),
        (
            Answer("post", "/api/v1/teams", 201, "application/json", {**TEAM, "id": None}),
            'at id: null is not of type "integer"',
        ),
        (Answer("get", "/api/v1/attachments/{attachment_id}", 200, "image/png"), None),
        (
            Answer("get", "/api/v1/attachments/{attachment_id}", 200, ""),
            "no content, but the document says",
        ),
        (
            Answer("get", "/api/v1/attachments/{attachment_id}", 200, "text/html"),
            "content type text/html not in the document",
        ),
        (Answer("delete", "/api/v1/canned_responses/{canned_id}", 204, ""), None),
        (
            Answer("delete", "/api/v1/canned_responses/{canned_id}", 204, "application/json"),
            "content type application/json, but the document says no content",
        ),
        (
            Answer("get", "/api/v1/nowhere", 200, "application/json", {}),
            "the document has no such operation",
        ),
        (
            Answer("get", "/api/v1/conversations", 400, "application/json", {"error": "bad"}),
            'at error: "bad" is not of type "object"',
        ),
    ],
)
def test_an_answer_the_document_does_not_describe_is_reported(
    answer: Answer, problem: str | None
) -> None:
    found = problems_of(answer)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1, found
        assert problem in found[0], found
