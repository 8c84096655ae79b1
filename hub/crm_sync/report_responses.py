"""The sales reports' JSON answers (``hub.crm_sync.reports`` and ``report_groups``, whose
docstrings define the figures; conventions in ``hub.responses``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hub.crm_sync.models import StageKind
from hub.crm_sync.responses import Amount
from hub.responses import Out

#: A share rounded to 4 decimals (0.6667); null when there was nothing to divide.
Share = float | None


class PeriodOut(Out):
    from_: datetime = Field(alias="from")
    to: datetime = Field(description="The end, not included")


class MoneyOut(Out):
    currency: str
    amount: Amount


class DealLengthOut(Out):
    """Created to closed, in whole seconds, of the deals closed in the period."""

    count: int
    avg_seconds: int | None
    median_seconds: int | None


class FirstResponseOut(Out):
    """Seconds from a customer's first message to the first reply (in working hours when
    the company has working hours)."""

    conversations: int
    answered: int
    unanswered: int
    avg_seconds: int | None
    median_seconds: int | None
    p90_seconds: int | None


class FunnelFirstResponseOut(FirstResponseOut):
    working_hours: bool = Field(description="Counted in the company's working hours only")


class LostReasonCountOut(Out):
    stage_id: int | None
    stage: str | None
    reason: str | None
    count: int


class FunnelStageOut(Out):
    stage_id: int | None = Field(description="null for the won step of a pipeline without one")
    name: str
    kind: Literal[StageKind.OPEN, StageKind.WON]
    reached: int
    conversion_to_next: float | None = Field(description="Share; null at the last step")


class FunnelPipelineOut(Out):
    pipeline_id: int
    name: str
    stages: list[FunnelStageOut] = Field(description="The open stages in order, then won")


class ClosedFiguresOut(Out):
    """The figures of the deals closed in the period."""

    deals_won: int
    deals_lost: int
    win_rate: Share
    won_amount: list[MoneyOut] = Field(description="Won sums, per currency")
    deal_length: DealLengthOut


class FunnelOut(ClosedFiguresOut):
    period: PeriodOut
    pipeline_id: int | None
    leads_in: int
    leads_converted: int
    deals_created: int
    lost_reasons: list[LostReasonCountOut]
    pipelines: list[FunnelPipelineOut]
    first_response: FunnelFirstResponseOut


class RatingFiguresOut(Out):
    """Customers' ratings given in the period, credited to this operator."""

    average: float | None = Field(description="To 2 places; null without ratings")
    count: int


class OperatorRowOut(ClosedFiguresOut):
    operator_id: int | None = Field(description="The deals' owner; null for deals without one")
    name: str | None
    deals_created: int
    first_response: FirstResponseOut
    rating: RatingFiguresOut


class OperatorReportOut(Out):
    period: PeriodOut
    pipeline_id: int | None
    items: list[OperatorRowOut]


class SourceRowOut(ClosedFiguresOut):
    source_channel: str | None
    utm_source: str | None
    utm_campaign: str | None
    leads_in: int
    deals_created: int
    first_response: FirstResponseOut


class SourceReportOut(Out):
    period: PeriodOut
    pipeline_id: int | None
    items: list[SourceRowOut]


class EmailTrackingRowOut(Out):
    """One operator's tracked emails sent in the period."""

    operator_id: int
    operator_name: str
    sent: int
    opened: int = Field(description="Emails a person opened (machine loads never count)")
    clicked: int = Field(description="Emails in which a person clicked a link")
    open_rate: float | None = Field(description="opened / sent, to 3 places")
    click_rate: float | None = Field(description="clicked / sent, to 3 places")
    machine_only: int = Field(description="Emails only machines loaded (Apple's prefetch, proxies)")
    machine_opens: int = Field(description="Machine loads of his emails' pixels, all told")


class EmailTrackingReportOut(Out):
    period: PeriodOut
    items: list[EmailTrackingRowOut] = Field(description="Most emails sent first")


class CallCountsOut(Out):
    answered: int
    missed: int = Field(description="Missed or busy")


class OperatorCallsOut(CallCountsOut):
    operator: str | None = Field(description="The extension or employee who answered")


class TrackingNumberCallsOut(CallCountsOut):
    tracking_number: str | None = Field(description="E.164; the dialled number if none")
    source: str | None = Field(description="The number's label, if an admin gave one")
    campaign: str | None


class CallbacksOut(Out):
    missed: int = Field(description="Inbound calls missed or busy in the period")
    called_back: int = Field(description="Of those, followed by an answered call with the number")
    not_called_back: int
    median_s: int | None = Field(description="Median wait from the missed call to the answer")
    max_s: int | None


class CallReportOut(Out):
    period: PeriodOut
    by_operator: list[OperatorCallsOut] = Field(description="Answered inbound calls")
    by_tracking_number: list[TrackingNumberCallsOut]
    callbacks: CallbacksOut
