"""The answers of the number pool's admin routes (conventions in ``hub.responses``)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from pydantic import Field

from hub.responses import Out


class PoolNumberOut(Out):
    id: int
    number: str = Field(description="E.164")
    label: str
    held_until: datetime | None = Field(
        description="When its live reservation ends (a visitor holds it now); null when free"
    )
    created_at: datetime


class NumberPoolOut(Out):
    channel_id: int
    default_number: str | None = Field(
        description="E.164; shown when every number is held. Null: the page keeps its own"
    )
    numbers: list[PoolNumberOut]


class NumberPoolDayOut(Out):
    date: dt.date = Field(description="A day of the company's time zone")
    reservations: int = Field(description="Numbers given to visitors that day")
    ran_out: int = Field(description="Visitors shown the default because every number was held")


class NumberPoolUsageOut(Out):
    pool_size: int
    held_now: int = Field(description="Numbers a visitor holds now")
    free_now: int
    reservations: int = Field(description="Numbers given out over the days below")
    ran_out: int = Field(description="Times every number was held, over the days below")
    last_ran_out_at: datetime | None
    days: list[NumberPoolDayOut] = Field(description="Oldest first, today last")


class NumberPoolReportOut(NumberPoolOut):
    reservation_seconds: int = Field(description="HUB_NUMBER_RESERVATION_S")
    usage: NumberPoolUsageOut
