"""Request bodies of the inbox API, validated by pydantic; unknown fields are refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: A row id: the id columns are 32-bit, so a larger number is refused before the database.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


class LoginIn(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class OperatorIn(Strict):
    email: str = Field(max_length=320)
    name: str = Field(max_length=200)
    role: str = "operator"
    password: str | None = Field(default=None, max_length=1000)
    team_ids: list[Id] = Field(default_factory=list, max_length=100)


class OperatorPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    role: str | None = None
    active: bool | None = None
    team_ids: list[Id] | None = Field(default=None, max_length=100)


class ReadIn(Strict):
    #: Read up to this message of the conversation; its newest message when absent.
    message_id: Id | None = None


class TeamIn(Strict):
    name: str = Field(max_length=200)
    operator_ids: list[Id] = Field(default_factory=list, max_length=1000)


class MessageIn(Strict):
    body: str
    private: bool = False
    #: Uploads (POST …/attachments) this message carries; the body may then be empty.
    attachment_ids: list[Id] = Field(default_factory=list, max_length=10)
    #: The message of this conversation that this one answers.
    reply_to_id: Id | None = None
    #: Open and click tracking of this reply, on a channel that tracks (email); ignored for
    #: notes, which are never sent.
    tracking: bool = True


class AssignIn(Strict):
    operator_id: Id | None = None
    team_id: Id | None = None
    note: str = Field(default="", max_length=2000)


class StatusIn(Strict):
    status: str
    snoozed_until: AwareDatetime | None = None


class ContactPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    phones: list[str] | None = Field(default=None, max_length=10)
    emails: list[str] | None = Field(default=None, max_length=10)
    company: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=5000)


class CannedIn(Strict):
    short_code: str = Field(max_length=50)
    content: str = Field(max_length=5000)


class CannedPatch(Strict):
    short_code: str | None = Field(default=None, max_length=50)
    content: str | None = Field(default=None, max_length=5000)
