"""Login throttling: wrong passwords get slower answers, checked before the password is hashed.

Three counters of login attempts, each a count and the time of the last one:

* the pair (email, address): ``HUB_LOGIN_FREE_FAILURES`` attempts, then each one waits twice as
  long as the one before, from 1 s up to ``HUB_LOGIN_MAX_DELAY_S``;
* the email over every address, and the address over every email: the same waits after
  ``HUB_LOGIN_WIDE_FREE_FAILURES`` attempts. They stop password spraying from one address and
  guessing one account from many.

An attacker must not lock the real operator out: the pair counter only holds the attacker's own
address, and neither wide counter holds an address that logged in to that email before (for
``KNOWN_PAIR_DAYS``), so an operator at his usual address is held by nothing but his own
mistakes. A success clears its pair and takes its attempt back from the wide counters.

An attempt is counted when it is let through, before its password is hashed: parallel attempts
cannot all pass before the first failure is counted. Counters are forgotten
``HUB_LOGIN_FORGET_S`` after the last attempt. With Redis they are shared by every process
(times are the processes' clocks, kept in step as NTP does); without it, or while Redis does
not answer, they are this process's own.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from hub.settings import Settings

log = logging.getLogger(__name__)

#: How long an address that logged in to an email stays exempt from that email's wide counter.
KNOWN_PAIR_DAYS = 30
#: Redis calls give up after this long (the process's own counters take over).
REDIS_TIMEOUT_S = 1.0
#: A Redis failure is logged once per this many seconds, not once per login.
REDIS_FAILURE_LOG_S = 60.0


@dataclass(frozen=True, slots=True)
class LoginLimits:
    free: int = 5
    wide_free: int = 30
    max_delay_s: float = 300.0
    forget_s: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_free_failures,
            settings.login_wide_free_failures,
            settings.login_max_delay_s,
            settings.login_forget_s,
        )

    def delay(self, count: int, free: int) -> float:
        """The wait after ``count`` attempts on a counter that lets ``free`` through."""
        if count < free:
            return 0.0
        return min(self.max_delay_s, 2.0 ** min(count - free, 64))

    @property
    def ttl_s(self) -> float:
        return max(self.forget_s, self.max_delay_s)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Keys:
    """The counters of one attempt, and the mark of a pair that logged in before."""

    pair: str
    email: str
    address: str
    known: str

    @classmethod
    def of(cls, email: str, address: str) -> Keys:
        return cls(
            "pair:" + _digest(email, address),
            "email:" + _digest(email),
            "addr:" + _digest(address),
            "known:" + _digest(email, address),
        )


class MemoryCounters:
    """The counters in this process (the embedded backend, and the fallback while Redis is
    away); the oldest are dropped past ``max_keys``."""

    def __init__(self, limits: LoginLimits, max_keys: int = 100_000) -> None:
        self._limits = limits
        self._max_keys = max_keys
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._known: OrderedDict[str, float] = OrderedDict()

    def _wait(self, key: str, free: int, now: float) -> float:
        count, last = self._counts.get(key, (0, now))
        if now - last >= self._limits.ttl_s:
            del self._counts[key]
            return 0.0
        return max(0.0, last + self._limits.delay(count, free) - now)

    def admit(self, keys: Keys, now: float) -> float:
        wait = self._wait(keys.pair, self._limits.free, now)
        if self._known.get(keys.known, 0.0) <= now:
            wait = max(
                wait,
                self._wait(keys.email, self._limits.wide_free, now),
                self._wait(keys.address, self._limits.wide_free, now),
            )
        if wait > 0:
            return wait
        for key in (keys.pair, keys.email, keys.address):
            count, _ = self._counts.pop(key, (0, now))
            self._counts[key] = (count + 1, now)
        while len(self._counts) > self._max_keys:
            self._counts.popitem(last=False)
        return 0.0

    def succeeded(self, keys: Keys, now: float) -> None:
        self._counts.pop(keys.pair, None)
        for key in (keys.email, keys.address):
            if key in self._counts:
                count, last = self._counts[key]
                self._counts[key] = (max(0, count - 1), last)
        self._known.pop(keys.known, None)
        self._known[keys.known] = now + KNOWN_PAIR_DAYS * 86400
        while len(self._known) > self._max_keys:
            self._known.popitem(last=False)


#: KEYS: pair, email, address, known. ARGV: now, free, wide free, longest delay, TTL in ms.
#: Returns the wait in seconds as a string ("0": admitted, and counted).
_ADMIT = """
local now = tonumber(ARGV[1])
local maxd = tonumber(ARGV[4])
local function wait(key, free)
  local v = redis.call('HMGET', key, 'n', 't')
  local n = tonumber(v[1])
  if not n or n < free then return 0 end
  return math.max(0, tonumber(v[2]) + math.min(maxd, 2 ^ math.min(n - free, 64)) - now)
end
local w = wait(KEYS[1], tonumber(ARGV[2]))
if redis.call('EXISTS', KEYS[4]) == 0 then
  w = math.max(w, wait(KEYS[2], tonumber(ARGV[3])), wait(KEYS[3], tonumber(ARGV[3])))
end
if w > 0 then return tostring(w) end
for i = 1, 3 do
  redis.call('HINCRBY', KEYS[i], 'n', 1)
  redis.call('HSET', KEYS[i], 't', ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[5])
end
return '0'
"""

#: KEYS: pair, email, address, known. ARGV: how long the pair stays known, in ms.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('HGET', KEYS[i], 'n') or '0') > 0 then
    redis.call('HINCRBY', KEYS[i], 'n', -1)
  end
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return 1
"""


class RedisCounters:
    """The counters in Redis, shared by every process; each check is one script call."""

    def __init__(self, url: str, prefix: str, limits: LoginLimits) -> None:
        # The Redis client only when Redis is used: a hub without it never imports it.
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        #: What a call that failed raises.
        self.errors: tuple[type[Exception], ...] = (aioredis.RedisError, OSError)
        self._prefix = f"{prefix}:login:"
        self._limits = limits
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        self._admit = self._redis.register_script(_ADMIT)
        self._succeeded = self._redis.register_script(_SUCCEEDED)

    def _keys(self, keys: Keys) -> list[str]:
        return [self._prefix + k for k in (keys.pair, keys.email, keys.address, keys.known)]

    async def admit(self, keys: Keys, now: float) -> float:
        limits = self._limits
        args = [now, limits.free, limits.wide_free, limits.max_delay_s, int(limits.ttl_s * 1000)]
        return float(await self._admit(keys=self._keys(keys), args=args))

    async def succeeded(self, keys: Keys) -> None:
        await self._succeeded(keys=self._keys(keys), args=[KNOWN_PAIR_DAYS * 86_400_000])

    async def close(self) -> None:
        await self._redis.aclose()


class LoginThrottle:
    """``admit`` before a password is checked, ``succeeded`` after a login went through.

    With Redis the counters are shared; a Redis call that fails falls back to this process's
    own counters (logged once a minute), so logins neither stop nor go unthrottled."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        limits = LoginLimits.from_settings(settings)
        self._memory = MemoryCounters(limits)
        self._redis = (
            RedisCounters(settings.redis_url, settings.redis_prefix, limits)
            if settings.redis_url
            else None
        )
        self._redis_failure_logged = float("-inf")

    def _redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._redis_failure_logged >= REDIS_FAILURE_LOG_S:
            self._redis_failure_logged = now
            log.error("login throttling falls back to this process's counters: Redis: %s", exc)

    async def admit(self, email: str, address: str) -> float:
        """0 when the attempt may go on (it is counted); else the seconds to wait."""
        keys = Keys.of(email, address)
        now = self.clock()
        if self._redis is not None:
            try:
                return await self._redis.admit(keys, now)
            except self._redis.errors as exc:
                self._redis_failed(exc)
        return self._memory.admit(keys, now)

    async def succeeded(self, email: str, address: str) -> None:
        keys = Keys.of(email, address)
        self._memory.succeeded(keys, self.clock())
        if self._redis is not None:
            try:
                await self._redis.succeeded(keys)
            except self._redis.errors as exc:
                self._redis_failed(exc)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
