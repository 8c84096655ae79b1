"""Request bodies of the webhook admin API (sync out), validated by pydantic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookIn(_Strict):
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    #: Event names (``deal.updated``), ``deal.*`` for every event of an entity; empty: all.
    events: list[str] = Field(default_factory=list, max_length=50)


class WebhookPatch(_Strict):
    name: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None
