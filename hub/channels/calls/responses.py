"""The calls channel's answers (conventions in ``hub.responses``)."""

from __future__ import annotations

from pydantic import Field

from hub.responses import Out


class SuccessOut(Out):
    """Sipuni's expected answer: it may stop sending to a URL that answers anything else."""

    success: bool = Field(description="Always true")
