"""Limits shared by many processes through Redis: one rate, one pause, one cap.

When several sweeps (teams, or shards of one sweep on several CI runners) use
one Testsigma account, each pacing itself alone overruns the account's quota.
With ``--shared-limit redis://HOST:PORT/DB`` they share:

- the rate: a GCRA bucket (rate, burst) kept in Redis and taken in one atomic
  Lua call per request, timed by Redis's own clock so hosts need not agree;
- the pause: a 429/503 seen by one process pauses them all (same call);
- the cap on reruns active on the server: each slot is a lease in a sorted
  set that its holder renews; a killed process's slots expire; a free slot goes
  to the longest waiting rerun of any process.

If Redis becomes unreachable mid-sweep, each process falls back to local
pacing at ``fallback_fraction`` of the rate (and of the cap), warns, and goes
back to the shared limits once Redis answers again: it neither stops nor floods.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import random
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio

from rerunorch.clock import Clock, ScaledClock, SystemClock
from rerunorch.errors import ConfigError
from rerunorch.pacing import PacingStats
from rerunorch.pacing.headers import RateLimitInfo
from rerunorch.pacing.local import ActiveReruns, Pacer
from rerunorch.secret import mask_url

__all__ = ["RedisActiveReruns", "RedisPacer", "connect", "redis_problem"]

log = logging.getLogger(__name__)

# One call per request: the shared pause first (and raise it if asked), then GCRA.
_PACE = """
local t = redis.call('TIME')
local scale = tonumber(ARGV[3])
local now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) * scale
local pause_for = tonumber(ARGV[4])
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if pause_for > 0 and now + pause_for > pause then
  pause = now + pause_for
  redis.call('SET', KEYS[2], tostring(pause), 'PX', math.ceil(pause_for / scale * 1000) + 1000)
end
if pause > now then return tostring(pause - now) end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if now < allow_at then return tostring(allow_at - now) end
local ttl = math.ceil((tat + interval - now) / scale * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', ttl)
return '0'
"""

# A slot for ARGV[3] if one is free and no process asks with a longer rerun: each process
# asks for its longest waiting rerun, as ARGV[7] with score -expected seconds (KEYS[2]),
# under a short lease (KEYS[3]) so that a killed process stops asking.
_ACQUIRE = """
local t = redis.call('TIME')
local now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) * tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[2], tonumber(ARGV[5]), ARGV[7])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if free > 0 and redis.call('ZRANK', KEYS[2], ARGV[7]) < free then
  redis.call('ZREM', KEYS[2], ARGV[7])
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  return 1
end
return 0
"""

_RENEW = """
local t = redis.call('TIME')
local now = (tonumber(t[1]) + tonumber(t[2]) / 1000000) * tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
return 1
"""

SHARED_MARGIN = 0.97
_TOP_PRIORITY = 1e15  # a running rerun's (infinite) priority, as a score Redis can hold
RETRY_AFTER_FAILURE = 5.0  # seconds before trying an unreachable Redis again


def _scale(clock: Clock) -> float:
    return clock.scale if isinstance(clock, ScaledClock) else 1.0


def connect(url: str) -> Any:
    """A ``redis.asyncio`` client for ``url`` (``redis://HOST:PORT/DB``).

    Messages quote the URL with its password masked (see :func:`~rerunorch.mask_url`).

    Raises:
        ConfigError: The ``redis`` package is missing or the URL is not a Redis URL.
    """
    try:
        import redis.asyncio as aioredis
    except ImportError:
        raise ConfigError(
            "--shared-limit needs the redis package: install rerunorch with its extra, e.g. "
            'pip install "rerunorch[redis] @ git+https://github.com/rerunorch/rerunorch" '
            '(or ".[redis]" in a checkout)'
        ) from None
    shown = mask_url(url)[:120]  # the URL may hold a password: never quote it whole
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--shared-limit must be a redis:// URL, not {shown!r}")
    try:
        return aioredis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
    except ValueError as exc:  # a bad port, database or option
        detail = re.sub(r"'[^']*'", "'...'", str(exc))[:120]  # what it quotes may be secret
        raise ConfigError(f"--shared-limit {shown!r} is not a usable Redis URL: {detail}") from None


def redis_problem(exc: BaseException) -> str:
    """What went wrong with Redis, for a message: refused (a password, a database) or silent.

    >>> redis_problem(OSError("Connection refused"))
    'Redis does not answer (Connection refused)'
    """
    from redis.exceptions import AuthenticationError, ResponseError

    if isinstance(exc, AuthenticationError | ResponseError):
        return f"Redis refused ({exc})"
    return f"Redis does not answer ({exc})"


def namespace(base_url: str, api_key: str) -> str:
    """Keys per Testsigma account: a digest of the server and the key (never the key)."""
    digest = hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:16]
    return f"rerunorch:{digest}"


class _Availability:
    """Whether Redis is usable now; after a failure, try again a few seconds later."""

    def __init__(self, what: str, clock: Clock) -> None:
        self._what = what
        self._clock = clock
        self._down_until: float | None = None

    @property
    def up(self) -> bool:
        return self._down_until is None or self._clock.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        if self._down_until is None:
            log.warning("%s: Redis is unreachable (%s); using local limits", self._what, exc)
        self._down_until = self._clock.monotonic() + RETRY_AFTER_FAILURE * _scale(self._clock)

    def worked(self) -> None:
        if self._down_until is not None:
            log.warning("%s: Redis answers again; back to the shared limits", self._what)
        self._down_until = None


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


class RedisPacer:
    """A :class:`~rerunorch.pacing.RequestPacer` whose rate and pauses are shared.

    Args:
        redis: A ``redis.asyncio`` client (see :func:`connect`).
        prefix: Key prefix (see :func:`namespace`).
        rate: The shared rate in requests per second (required).
        burst: The shared burst.
        max_in_flight: This process's cap on requests in flight.
        fallback_fraction: Without Redis, pace locally at this share of ``rate``.
    """

    def __init__(
        self,
        redis: Any,
        prefix: str,
        *,
        rate: float,
        burst: int = 1,
        max_in_flight: int = 8,
        fallback_fraction: float = 0.25,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        on_wait: Any = None,
    ) -> None:
        if not rate > 0:
            raise ConfigError("--shared-limit needs --rate: the account's requests per second")
        self._redis = redis
        self._keys = [f"{prefix}:tat", f"{prefix}:pause"]
        # Requests from several hosts reach the server bunched by network jitter, so
        # the shared bucket runs a little under the quota and keeps half its burst.
        self._interval = 1.0 / (rate * SHARED_MARGIN)
        self._burst = max(1, burst // 2)
        self._clock = clock or SystemClock()
        # The local pacer caps requests in flight and keeps this process's pauses.
        self._local = Pacer(
            max_in_flight=max_in_flight, adaptive=False, clock=self._clock, rng=rng, on_wait=on_wait
        )
        self._fallback = Pacer(
            rate=rate * fallback_fraction, burst=1, adaptive=False, clock=self._clock
        )
        self._script = redis.register_script(_PACE)
        self._availability = _Availability("shared rate", self._clock)
        self._pause_until = 0.0
        self._rate = rate

    def __repr__(self) -> str:
        return f"RedisPacer(rate={self._rate!r}, burst={self._burst!r})"

    @contextlib.asynccontextmanager
    async def request(self) -> AsyncIterator[None]:
        await self.share_pause()
        async with self._local.request():
            await self._take_token()
            yield

    async def share_pause(self) -> None:
        """Tell every process of a pause this one was told of (each request does it first)."""
        if self._pause_until > self._clock.monotonic():
            await self._take_token(wait=False)

    async def _take_token(self, *, wait: bool = True) -> None:
        while True:
            if not self._availability.up:
                if not wait:
                    return
                async with self._fallback.request():
                    return
            pause_for = max(self._pause_until - self._clock.monotonic(), 0.0)
            self._pause_until = 0.0
            try:
                delay = float(
                    await self._script(
                        keys=self._keys,
                        args=[self._interval, self._burst, _scale(self._clock), pause_for],
                    )
                )
            except _redis_errors() as exc:
                self._availability.failed(exc)
                continue
            self._availability.worked()
            if delay <= 0 or not wait:
                return
            await self._clock.sleep(delay)

    def rate_limited(self, retry_after: float | None, *, cut: bool = True) -> float:
        wait = self._local.rate_limited(retry_after, cut=cut)
        # Shared with every process by the next call to Redis (the next request's).
        self._pause_until = max(self._pause_until, self._clock.monotonic() + wait)
        return wait

    def succeeded(self, info: RateLimitInfo | None = None) -> None:
        self._local.succeeded(info)

    @property
    def rate(self) -> float | None:
        return self._rate if self._availability.up else self._fallback.rate

    @property
    def stats(self) -> PacingStats:
        return self._local.stats


class RedisActiveReruns:
    """A :class:`~rerunorch.pacing.RerunSlots` cap shared by every process.

    Each slot is a lease (``lease`` seconds) in a Redis sorted set, renewed while
    held by :meth:`running`'s renewal task; a killed process's slots expire.

    The longest expected rerun of the whole fleet is served first: a process asks
    (every ``poll`` seconds) for its longest waiting rerun only, as one entry of a
    second sorted set scored by that rerun's priority, and a free slot goes to the
    highest entries. An entry not asked for again within ``10 * poll`` lapses.
    """

    def __init__(
        self,
        redis: Any,
        prefix: str,
        limit: int,
        *,
        lease: float = 60.0,
        poll: float = 1.0,
        fallback_fraction: float = 0.25,
        clock: Clock | None = None,
    ) -> None:
        self._redis = redis
        self._key = f"{prefix}:active"
        self._asking = (f"{prefix}:asking", f"{prefix}:asking-leases")
        self._limit = limit
        self._lease = lease
        self._poll = poll
        self._clock = clock or SystemClock()
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._fallback = ActiveReruns(max(1, int(limit * fallback_fraction)))
        self._turn = ActiveReruns(1)  # whose turn it is to ask Redis: the longest waiting
        self._availability = _Availability("shared rerun cap", self._clock)
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._ids = itertools.count()
        self._held: set[str] = set()

    @property
    def active(self) -> int:
        return len(self._held) + self._fallback.active

    def slot(self, priority: float = 0.0) -> AbstractAsyncContextManager[None]:
        """A shared slot; this process's waiters ask for one by ``priority`` (highest first)."""
        return self._slot(priority)

    @contextlib.asynccontextmanager
    async def _slot(self, priority: float) -> AsyncIterator[None]:
        member = f"{self._owner}-{next(self._ids)}"
        if not await self._take(member, priority):
            async with self._fallback.slot(priority):
                yield
            return
        self._held.add(member)
        try:
            yield
        finally:
            self._held.discard(member)
            with anyio.CancelScope(shield=True), contextlib.suppress(*_redis_errors()):
                await self._redis.zrem(self._key, member)

    async def _take(self, member: str, priority: float) -> bool:
        """Wait for a shared slot; False when Redis is down (use a local one).

        One task of this process asks at a time, the one with the longest rerun; it
        steps aside when a longer one comes to wait.
        """
        while True:
            async with self._turn.slot(priority):
                try:
                    taken = await self._ask(member, priority)
                except BaseException:
                    with anyio.CancelScope(shield=True), contextlib.suppress(*_redis_errors()):
                        await self._redis.zrem(self._asking[0], self._owner)
                    raise
            if taken is not None:
                return taken

    async def _ask(self, member: str, priority: float) -> bool | None:
        """Ask until a slot is taken (True), Redis is down (False) or a longer rerun
        waits in this process (None: it asks next)."""
        scale = _scale(self._clock)
        score = -min(priority, _TOP_PRIORITY)
        args = [self._limit, self._lease, member, scale, score, 10 * self._poll, self._owner]
        while True:
            if not self._availability.up:
                return False
            try:
                got = await self._acquire(keys=[self._key, *self._asking], args=args)
            except _redis_errors() as exc:
                self._availability.failed(exc)
                return False
            self._availability.worked()
            if int(got):
                return True
            longest = self._turn.next_priority
            if longest is not None and longest > priority:
                return None
            await self._clock.sleep(self._poll * random.uniform(0.8, 1.2))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Renew this process's leases while the sweep runs."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._renewing)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def _renewing(self) -> None:
        while True:
            await self._clock.sleep(self._lease / 3)
            if not self._held:
                continue
            try:
                await self._renew(
                    keys=[self._key],
                    args=[self._lease, _scale(self._clock), *sorted(self._held)],
                )
            except _redis_errors() as exc:
                self._availability.failed(exc)
