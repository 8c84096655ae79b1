"""``POST /api/widget/v1/rating``: the visitor rates the resolution of his conversation.

Asked for by ``rating_request`` (a socket frame, and ``rating_request`` in the session and
``messages`` answers). Once per resolution: a second rating answers 409 ``already_rated`` and
changes nothing (``hub.inbox.ratings``).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from hub.channels.widget import visitors
from hub.channels.widget.routes import _rate, _visitor
from hub.http import CTX, json, read_json
from hub.inbox import ratings

routes = web.RouteTableDef()


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution_id: StrictInt = Field(ge=1, le=2**31 - 1)
    score: StrictInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=ratings.MAX_COMMENT_CHARS)


@routes.post("/api/widget/v1/rating")
async def rate(request: web.Request) -> web.Response:
    """The visitor's rating (X-Visitor-Token): ``{resolution_id, score, comment?}``."""
    visitor, channel = await _visitor(request, request.headers.get("X-Visitor-Token"))
    _rate(request, visitor.id)
    body = await read_json(request, RatingIn)
    data = await ratings.rate(
        request.app[CTX],
        channel.id,
        visitors.external_id(visitor),
        body.resolution_id,
        body.score,
        body.comment,
    )
    # Only what he may know: not the operator it counts for.
    return json(
        {"rating": {k: data[k] for k in ("id", "resolution_id", "score", "comment", "created_at")}},
        status=201,
    )
