"""A login as both log-in routes make it: throttled first (``hub.inbox.login_throttle``), logged.

Every failed attempt is logged with its email and address (never the password); throttled
attempts are logged without flooding: one line per address a minute, at most
``THROTTLED_LINES_PER_MINUTE`` in all, each saying how many went unlogged before it.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Any

from hub.context import HubContext
from hub.errors import InvalidInput, RateLimited, Unauthorized
from hub.inbox import staff
from hub.inbox.login_throttle import LoginThrottle

log = logging.getLogger(__name__)

THROTTLED_LINES_PER_MINUTE = 20


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"

    def __init__(self, wait_s: float) -> None:
        retry_after = max(1, math.ceil(wait_s))
        super().__init__(
            f"too many failed logins; try again in {retry_after} s", retry_after_s=retry_after
        )


class ThrottledLog:
    """Lines about throttled attempts: one per address a minute, a few a minute in all."""

    def __init__(self, max_addresses: int = 10_000) -> None:
        self._max_addresses = max_addresses
        self._last_line: OrderedDict[str, float] = OrderedDict()
        self._window_start = float("-inf")
        self._lines = 0
        self._unlogged = 0

    def note(self, email: str, address: str, wait_s: float) -> None:
        now = time.monotonic()
        if now - self._window_start >= 60:
            self._window_start, self._lines = now, 0
        last = self._last_line.get(address)
        if (last is not None and now - last < 60) or self._lines >= THROTTLED_LINES_PER_MINUTE:
            self._unlogged += 1
            return
        self._last_line.pop(address, None)
        self._last_line[address] = now
        while len(self._last_line) > self._max_addresses:
            self._last_line.popitem(last=False)
        self._lines += 1
        log.warning(
            "login throttled for %r from %r: %d s to wait (%d throttled attempts unlogged before)",
            email,
            address,
            math.ceil(wait_s),
            self._unlogged,
        )
        self._unlogged = 0


class LoginGuard:
    """The throttle and the log lines around ``staff.login``."""

    def __init__(self, throttle: LoginThrottle) -> None:
        self.throttle = throttle
        self._throttled = ThrottledLog()

    async def login(
        self, ctx: HubContext, email: str, password: str, address: str
    ) -> tuple[str, dict[str, Any]]:
        """A token and the operator, as ``staff.login``; ``TooManyAttempts`` (429) before the
        password is hashed when this email or address failed too often."""
        try:  # spelled as the login will look it up, so no other spelling gets fresh counts
            account = staff.normalize_email(email)
        except InvalidInput:
            account = email.strip().lower()
        wait = await self.throttle.admit(account, address)
        if wait > 0:
            self._throttled.note(account, address, wait)
            raise TooManyAttempts(wait)
        try:
            result = await staff.login(ctx, email, password)
        except Unauthorized:
            log.warning("failed login for %r from %r", account, address)
            raise
        await self.throttle.succeeded(account, address)
        return result

    async def close(self) -> None:
        await self.throttle.close()
