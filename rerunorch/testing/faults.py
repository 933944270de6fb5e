"""Misbehaviour on demand: the server-side rate limit and the seeded fault dice."""

from __future__ import annotations

import math
import random
from email.utils import formatdate

from .config import AmbiguousMode, RetryAfterStyle, SimulatorConfig

__all__ = ["FaultDice", "TokenBucket", "retry_after_header"]

_AMBIGUOUS_MODES: tuple[AmbiguousMode, ...] = ("reset", "500", "502")


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; each request takes one.

    Times are the simulator clock's monotonic seconds.
    """

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    def take(self, now: float) -> float:
        """Take a token; answer 0 on success, else the seconds until one is available."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def headers(self, now: float) -> dict[str, str]:
        """``RateLimit``/``RateLimit-Policy`` (IETF draft) and ``X-RateLimit-*`` headers."""
        self._refill(now)
        remaining = int(self._tokens)
        reset = 0 if remaining else math.ceil((1.0 - self._tokens) / self.rate)
        limit = max(1, round(self.rate))
        return {
            "RateLimit-Policy": f'"default";q={limit};w=1',
            "RateLimit": f'"default";r={remaining};t={reset}',
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now


def retry_after_header(style: RetryAfterStyle, wait: float, wall_now: float) -> str | None:
    """``Retry-After`` for a wait of ``wait`` seconds: whole seconds (rounded up), an HTTP date
    (from the clock's wall time, rounded up to the next second), or None."""
    if style == "none":
        return None
    if style == "date":
        return formatdate(math.ceil(wall_now + wait), usegmt=True)
    return str(max(1, math.ceil(wait)))


class FaultDice:
    """Seeded draws for each kind of fault, each from its own stream so that one setting does
    not shift another's faults."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self._503 = random.Random(f"{config.seed}:503")
        self._ambiguous = random.Random(f"{config.seed}:ambiguous")
        self._busy = random.Random(f"{config.seed}:busy")

    def fault_503(self) -> float | None:
        """None for no fault, else the 503's Retry-After in seconds (0 for none)."""
        rate = self._config.fault_503_rate
        if not rate or self._503.random() >= rate:
            return None
        return float(self._503.randint(1, 3)) if self._503.random() < 0.5 else 0.0

    def ambiguous(self) -> AmbiguousMode | None:
        """None, or how a rerun POST's answer is lost after the rerun was created."""
        rate = self._config.ambiguous_fault_rate
        if not rate or self._ambiguous.random() >= rate:
            return None
        mode = self._config.ambiguous_mode
        return self._ambiguous.choice(_AMBIGUOUS_MODES) if mode == "mixed" else mode

    def plan_busy(self) -> bool:
        """Whether a POST is refused as "Test Plan is currently running"."""
        rate = self._config.plan_busy_rate
        return bool(rate) and self._busy.random() < rate
