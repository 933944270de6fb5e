"""The time window of a discovery: ``--since 12h`` or an ISO time, and ``--until``.

>>> Window.parse("12h", None).resolve(now=100_000.0)
(56800.0, None)
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import attrs

from rerunorch.errors import ConfigError

__all__ = ["Bound", "Window", "epoch_seconds", "iso"]

_RELATIVE = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@attrs.frozen
class Bound:
    """A moment: ``ago`` seconds before now, or the epoch second ``at``."""

    ago: float | None = None
    at: float | None = None

    @classmethod
    def parse(cls, text: str, flag: str) -> Bound:
        """``12h``, ``30m``, ``2d``, ``1w``, or an ISO date or time (no zone: UTC).

        Raises:
            ConfigError: It is neither (the message names ``flag``).
        """
        value = text.strip()
        match = _RELATIVE.fullmatch(value)
        if match:
            return cls(ago=float(int(match.group(1)) * _UNITS[match.group(2)]))
        at = epoch_seconds(value)
        if at is None:
            raise ConfigError(
                f"{flag}: {text[:60]!r} is neither a duration (12h, 30m, 2d, 1w) "
                "nor an ISO time (2026-12-01T22:00Z)"
            )
        return cls(at=at)

    def resolve(self, now: float) -> float:
        """The epoch second this bound names at ``now``."""
        return self.at if self.at is not None else now - (self.ago or 0.0)


@attrs.frozen
class Window:
    """Runs started from ``since`` (inclusive) up to ``until`` (exclusive); None: open."""

    since: Bound | None = None
    until: Bound | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        """The window of ``--since`` and ``--until``.

        Raises:
            ConfigError: A bound is malformed, or ``until`` is not after ``since``.
        """
        window = cls(
            Bound.parse(since, "--since") if since else None,
            Bound.parse(until, "--until") if until else None,
        )
        start, end = window.since, window.until
        same_kind = start and end and (start.at is None) == (end.at is None)
        if same_kind and window.resolve(now=0.0)[1] <= window.resolve(now=0.0)[0]:  # type: ignore[operator]
            raise ConfigError(f"--until ({until}) must be after --since ({since})")
        return window

    def resolve(self, now: float) -> tuple[float | None, float | None]:
        """``(start, end)`` in epoch seconds at ``now``."""
        return (
            self.since.resolve(now) if self.since else None,
            self.until.resolve(now) if self.until else None,
        )


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from ISO text (no zone: UTC) or epoch milliseconds; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 1000.0
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(seconds: float) -> str:
    """``2026-12-01T22:00:00Z`` for an epoch second."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
