"""The company's time zone and working hours, as this process keeps them: ``ctx.company``.

Admins change them in the admin area (``PUT /api/v1/settings/working-hours``); they are stored
in the ``company_settings`` table. Until an admin saves, ``HUB_TIMEZONE`` and
``HUB_WORKING_HOURS`` are used. Every reader asks this one object (the widget, the reports'
periods and first response times, the router's off-hours queue, call-back times, scheduled
emails' default zone, ``/api/v1/locale``), so a change applies at once: the process that saves
keeps the new value before it answers, and every other process takes it from the
``working_hours.updated`` event it follows, or reads the table again after the bus lost events
(``hub.inbox.working_hours``). A newer ``version`` only ever replaces an older one, so events
that arrive out of order do not bring an older value back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hub.crm_sync.report_period import WorkingHours, parse_working_hours
from hub.errors import InvalidInput
from hub.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompanyTime:
    """One reading of the company's time: its zone, its hours as a spec
    (``mon-fri 09:00-18:00``, empty: the clock never stops) and the hours parsed."""

    timezone: str
    spec: str
    hours: WorkingHours | None
    #: The stored row's version; 0 for the environment's values.
    version: int = 0

    @classmethod
    def of(cls, timezone: str, spec: str, version: int = 0) -> CompanyTime:
        """``InvalidInput`` for a zone or hours that do not read."""
        return cls(timezone, spec, parse_working_hours(spec, timezone), version)


class CompanyHours:
    """The kept value: the stored one once read or saved, else the settings' (read afresh,
    so a test or a command that changes ``settings`` sees its change)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stored: CompanyTime | None = None
        self._default: CompanyTime | None = None

    def current(self) -> CompanyTime:
        if self._stored is not None:
            return self._stored
        st = self._settings
        found = self._default
        if found is None or (found.timezone, found.spec) != (st.timezone, st.working_hours):
            found = self._default = CompanyTime.of(st.timezone, st.working_hours)
        return found

    @property
    def timezone(self) -> str:
        return self.current().timezone

    @property
    def spec(self) -> str:
        return self.current().spec

    @property
    def hours(self) -> WorkingHours | None:
        return self.current().hours

    @property
    def version(self) -> int:
        """The kept stored value's version; 0 while the settings' are used."""
        return self.current().version

    @property
    def stored(self) -> bool:
        """Whether an admin's saved value is used (not the environment's)."""
        return self._stored is not None

    def keep(self, timezone: str, spec: str, version: int) -> bool:
        """Use a stored value unless a newer one is kept already; True when it was taken.
        A value that does not read (never written by the API) is logged and left out."""
        if self._stored is not None and self._stored.version >= version:
            return False
        try:
            self._stored = CompanyTime.of(timezone, spec, version)
        except InvalidInput as exc:
            log.warning("the stored working hours are not used: %s", exc.message)
            return False
        return True
