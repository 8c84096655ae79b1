"""Invitations and password links over HTTP: the admin's routes that make and send them, the
public ones the link's page uses, and the page itself (``/inbox/invite/{token}``).

The domain is ``hub.inbox.invites``; the page (``invite.html``, ``invite.js``) asks what the
link is for, lets the person set his password, and is logged in by the answer's cookie, as
``POST /api/v1/auth/session`` would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from hub.http import CTX, int_param, json, principal, read_json
from hub.http.openapi_build import OPERATOR, op, path_id
from hub.inbox import invites
from hub.inbox.http.pages import set_session_cookie
from hub.inbox.http.session import check_origin
from hub.inbox.invites import LinkSent
from hub.inbox.responses import OperatorOut, SessionOut
from hub.inbox.schemas import Id, Strict
from hub.inbox.staff import require_admin
from hub.inbox.system_mail import NOT_CONFIGURED, system_sender
from hub.inbox.web import STATIC_DIR, csrf_token, security_headers
from hub.responses import Out

routes = web.RouteTableDef()


class InviteIn(Strict):
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)
    role: str = "operator"
    team_ids: list[Id] = Field(default_factory=list, max_length=100)


class LinkPasswordIn(Strict):
    password: str = Field(max_length=1000, description="At least 10 characters")


class MailOut(Out):
    sent: bool = Field(description="The email went out")
    sender: str | None = Field(description="The mailbox it went (or was to go) from")
    code: Literal["mail_not_configured", "mail_failed"] | None = Field(
        description="Why it did not go out: no mailbox sends the hub's mail, or it refused"
    )
    message: str | None = Field(description="The same in words, for the admin")


class LinkSentOut(Out):
    operator: OperatorOut
    purpose: Literal["invite", "reset"]
    expires_at: datetime = Field(description="When the link stops working (7 days)")
    mail: MailOut
    url: str | None = Field(
        description="The link, only when the email did not go out: the admin passes it on"
    )


class LinkInfoOut(Out):
    purpose: Literal["invite", "reset"]
    email: str
    name: str
    expires_at: datetime
    language: Literal["en", "ru"] = Field(description="The installation's language")


class SystemMailOut(Out):
    sender: str | None = Field(description="The mailbox the hub's own mail goes from")
    message: str | None = Field(description="Why system mail is not set up, when it is not")


def _sent(made: LinkSent) -> dict[str, Any]:
    return {
        "operator": made.operator,
        "purpose": made.purpose,
        "expires_at": made.expires_at,
        "mail": made.mail.as_dict(),
        "url": made.url,
    }


@routes.post("/api/v1/invites")
async def invite(request: web.Request) -> web.Response:
    who = await principal(request)
    require_admin(who)
    body = await read_json(request, InviteIn)
    made = await invites.invite_operator(
        request.app[CTX],
        who,
        email=body.email,
        name=body.name,
        role=body.role,
        team_ids=body.team_ids,
    )
    return json(_sent(made), status=201)


@routes.post("/api/v1/operators/{operator_id}/invite")
async def resend_invite(request: web.Request) -> web.Response:
    who = await principal(request)
    operator_id = int_param(request, "operator_id")
    made = await invites.send_link(request.app[CTX], who, operator_id, invites.INVITE)
    return json(_sent(made))


@routes.post("/api/v1/operators/{operator_id}/password-link")
async def password_link(request: web.Request) -> web.Response:
    who = await principal(request)
    operator_id = int_param(request, "operator_id")
    made = await invites.send_link(request.app[CTX], who, operator_id, invites.RESET)
    return json(_sent(made))


@routes.get("/api/v1/system-mail")
async def system_mail(request: web.Request) -> web.Response:
    who = await principal(request)
    require_admin(who)
    sender = await system_sender(request.app[CTX])
    return json({"sender": sender, "message": None if sender else NOT_CONFIGURED})


@routes.get("/api/v1/auth/links/{token}")
async def link_info(request: web.Request) -> web.Response:
    return json(await invites.link_info(request.app[CTX], request.match_info["token"]))


@routes.post("/api/v1/auth/links/{token}")
async def use_link(request: web.Request) -> web.Response:
    settings = request.app[CTX].settings
    check_origin(request, settings, required=False)
    body = await read_json(request, LinkPasswordIn)
    token, operator = await invites.use_link(
        request.app[CTX], request.match_info["token"], body.password
    )
    response = json({"operator": operator, "csrf_token": csrf_token(settings, token)})
    set_session_cookie(response, settings, token)
    return response


_PAGE: dict[str, str] = {}


def _page_in(language: str) -> str:
    """The page in the installation's language (``<html lang>``, which ``invite.js`` reads
    before it knows the link, and for a link that does not work)."""
    if language not in _PAGE:
        text = (STATIC_DIR / "invite.html").read_text(encoding="utf-8")
        _PAGE[language] = text.replace('<html lang="en">', f'<html lang="{language}">', 1)
    return _PAGE[language]


@routes.get("/inbox/invite/{token}")
async def invite_page(request: web.Request) -> web.Response:
    settings = request.app[CTX].settings
    headers = security_headers(settings)
    # The token is in the address: no other site may learn it from a Referer.
    headers["Referrer-Policy"] = "no-referrer"
    return web.Response(
        text=_page_in(settings.language),
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )


_TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
_LINK_ERRORS = (400, 404, 410, 413, 422)

#: Its part of the OpenAPI document (merged in by ``hub.http.openapi``).
INVITE_PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/invites": {
        "post": op(
            "Invite a person by email (admin): he is stored as an invited operator (no login "
            "until he sets his password) and emailed a one-time link, valid 7 days, from the "
            "mailbox that sends the hub's mail. If none does, or it refused, mail says why and "
            "url carries the link to pass on",
            body=InviteIn,
            answer=LinkSentOut,
            ok=201,
            auth=OPERATOR,
            errors=(400, 401, 403, 409, 413, 422),
        ),
    },
    "/api/v1/operators/{operator_id}/invite": {
        "post": op(
            "Send an invited operator's invitation again (admin): a new link, the old one stops "
            "working (409 not_invited once he joined, operator_deactivated)",
            answer=LinkSentOut,
            auth=OPERATOR,
            params=[path_id("operator_id")],
            errors=(400, 401, 403, 404, 409),
        ),
    },
    "/api/v1/operators/{operator_id}/password-link": {
        "post": op(
            "Email an operator a one-time link to set a new password (admin), valid 7 days; "
            "his password works until he sets the new one, then his sessions end (409 "
            "still_invited, operator_deactivated)",
            answer=LinkSentOut,
            auth=OPERATOR,
            params=[path_id("operator_id")],
            errors=(400, 401, 403, 404, 409),
        ),
    },
    "/api/v1/system-mail": {
        "get": op(
            "The mailbox the hub's own mail (invitations, password links) goes from (admin); "
            "null with the reason when none is chosen",
            answer=SystemMailOut,
            auth=OPERATOR,
            errors=(401, 403),
        ),
    },
    "/api/v1/auth/links/{token}": {
        "get": op(
            "What a one-time link is for (no login): 404 link_not_found, 410 link_used, "
            "link_expired, link_revoked",
            answer=LinkInfoOut,
            params=[_TOKEN],
            errors=_LINK_ERRORS,
        ),
        "post": op(
            "Set the password through a one-time link (no login), once: the operator's other "
            "sessions end and he is logged in (the hub_session cookie, as POST "
            "/api/v1/auth/session); 422 weak_password, 404 and 410 as above",
            body=LinkPasswordIn,
            answer=SessionOut,
            params=[_TOKEN],
            errors=(*_LINK_ERRORS, 403),
        ),
    },
    "/inbox/invite/{token}": {
        "get": op(
            "The page of a one-time link: set a password and log in",
            params=[_TOKEN],
            errors=(),
            content_type="text/html",
            db=False,
        ),
    },
}
INVITE_MODELS: tuple[type[BaseModel], ...] = (
    InviteIn,
    LinkPasswordIn,
    MailOut,
    LinkSentOut,
    LinkInfoOut,
    SystemMailOut,
)
