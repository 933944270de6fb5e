"""What a server says about its rate limits, read from one response's headers.

Gateways in front of Testsigma speak several dialects; all of them end up in one
:class:`RateLimitInfo` that the pacer understands:

- ``Retry-After``: delay-seconds or an HTTP-date (RFC 9110).
- The IETF draft, in its three shapes: separate ``RateLimit-Limit``,
  ``RateLimit-Remaining`` and ``RateLimit-Reset`` with ``RateLimit-Policy: 100;w=60``
  (drafts 3 to 6); one ``RateLimit: limit=100, remaining=50, reset=5`` (draft 7);
  and structured fields ``RateLimit: "default";r=50;t=5`` with
  ``RateLimit-Policy: "default";q=100;w=60`` (draft 8 on).
- ``X-RateLimit-Limit/Remaining/Reset``, whose reset is either seconds from now or
  a Unix timestamp.

Parsing never raises: a header that does not parse is ignored.

>>> info = parse_rate_limit_headers({"RateLimit-Policy": "100;w=60"}, now=0.0)
>>> info.rate
1.6666666666666667
"""

from __future__ import annotations

import datetime
import email.utils
import math
import re
from collections.abc import Mapping
from typing import TypeVar

import attrs

__all__ = ["RateLimitInfo", "parse_rate_limit_headers", "parse_retry_after"]

# A reset above this is a Unix timestamp (2001-09-09), not a number of seconds.
_EPOCH_THRESHOLD = 1e9
# Some gateways send the timestamp in milliseconds.
_EPOCH_MS_THRESHOLD = 1e12
_T = TypeVar("_T")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@attrs.frozen(kw_only=True)
class RateLimitInfo:
    """What the server said about its limits in one response (every field optional).

    Attributes:
        retry_after: Seconds to wait before the next request, from ``Retry-After``.
        limit: Requests allowed per window.
        remaining: Requests left in the current window.
        reset: Seconds until the current window resets.
        window: Length of the window in seconds (``w=`` of ``RateLimit-Policy``).
    """

    retry_after: float | None = None
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    window: float | None = None

    @property
    def rate(self) -> float | None:
        """The sustained rate the server allows (requests per second), when known."""
        if self.limit is None or not self.window or self.limit < 0:
            return None
        return self.limit / self.window


def parse_retry_after(value: str | None, *, now: float, cap: float = 600.0) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value (RFC 9110), never raising.

    Public so that plugins which post elsewhere (Slack, webhooks) read the header the
    same way the client does.

    Args:
        value: The header's value: delay-seconds (``"120"``) or an HTTP-date.
        now: The current wall-clock time (seconds since the epoch), for dates.
        cap: The longest wait believed; a larger one becomes ``cap``. Pass
            ``math.inf`` to see the server's own figure (e.g. to give up on a long wait).

    Returns:
        The wait in seconds (0 for a negative delay or a date in the past), or
        None if ``value`` is missing or unreadable (``NaN`` included).

    >>> parse_retry_after("3", now=0.0)
    3.0
    >>> parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30.0)
    30.0
    >>> parse_retry_after("3600", now=0.0), parse_retry_after("soon", now=0.0)
    (600.0, None)
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return _clamp(float(text), cap)
    try:
        when = email.utils.parsedate_to_datetime(text)
        # A date without a zone ("-0000") comes back naive; HTTP dates are always GMT.
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return _clamp(seconds, cap)


def parse_rate_limit_headers(headers: Mapping[str, str], *, now: float) -> RateLimitInfo:
    """Read every rate-limit header of one response into a :class:`RateLimitInfo`.

    Args:
        headers: Response headers; names are matched case-insensitively.
        now: The current wall-clock time (seconds since the epoch), for dates and
            epoch-style resets.

    When several dialects are present, the IETF ones win over ``X-RateLimit-*``,
    field by field.
    """
    lower = _lowercase(headers)
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    window: float | None = None

    # Draft 7: one dictionary; draft 8+: a list of named items with r/t parameters.
    combined = lower.get("ratelimit")
    if combined is not None:
        for name, params in _items(combined):
            if name in ("limit", "remaining", "reset") and name in params:
                value = params[name]
                if name == "limit":
                    limit = _first(limit, _count(value))
                elif name == "remaining":
                    remaining = _first(remaining, _count(value))
                else:
                    reset = _first(reset, _seconds(value))
            elif name is not None or "r" in params or "t" in params:
                remaining = _first(remaining, _count(params.get("r")))
                reset = _first(reset, _seconds(params.get("t")))

    limit = _first(limit, _count(_head(lower.get("ratelimit-limit"))))
    remaining = _first(remaining, _count(_head(lower.get("ratelimit-remaining"))))
    reset = _first(reset, _seconds(_head(lower.get("ratelimit-reset"))))

    policy = lower.get("ratelimit-policy")
    if policy is not None:
        quota, window = _pick_policy(_policies(policy), limit)
        limit = _first(limit, quota)

    limit = _first(limit, _count(_head(lower.get("x-ratelimit-limit"))))
    remaining = _first(remaining, _count(_head(lower.get("x-ratelimit-remaining"))))
    reset = _first(reset, _epoch_or_seconds(_head(lower.get("x-ratelimit-reset")), now))

    return RateLimitInfo(
        retry_after=parse_retry_after(lower.get("retry-after"), now=now),
        limit=limit,
        remaining=remaining,
        reset=reset,
        window=window,
    )


def _clamp(seconds: float, cap: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    # The first value of a repeated header wins, as a CIMultiDict's [] would give.
    lower: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, str) and isinstance(value, str):
            lower.setdefault(name.lower(), value)
    return lower


def _items(text: str) -> list[tuple[str | None, dict[str, str]]]:
    """Split a structured-field list or dictionary into (name, parameters) pairs.

    ``limit=100`` becomes ``("limit", {"limit": "100"})``; ``"default";r=5``
    becomes ``("default", {"r": "5"})``; a bare number is ``(None, {"": "100"})``.
    """
    items: list[tuple[str | None, dict[str, str]]] = []
    for member in text.split(","):
        parts = [part.strip() for part in member.split(";")]
        if not parts[0]:
            continue
        head, params = parts[0], {}
        for part in parts[1:]:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        key, eq, value = head.partition("=")
        if eq:
            params[key.strip().lower()] = value.strip().strip('"')
            items.append((key.strip().lower(), params))
        elif _NUMBER.fullmatch(head):
            params[""] = head
            items.append((None, params))
        else:
            items.append((head.strip('"').lower(), params))
    return items


def _policies(text: str) -> list[tuple[int, float | None]]:
    """(quota, window) pairs of a ``RateLimit-Policy`` in either draft's shape."""
    found: list[tuple[int, float | None]] = []
    for _name, params in _items(text):
        quota = _count(params.get("q", params.get("")))
        if quota is None or params.get("qu", "requests") != "requests":
            continue
        window = _seconds(params.get("w", params.get("window")))
        found.append((quota, window or None))
    return found


def _pick_policy(
    policies: list[tuple[int, float | None]], limit: int | None
) -> tuple[int | None, float | None]:
    """The policy that governs: the one matching the stated limit, else the strictest."""
    timed = [(q, w) for q, w in policies if w]
    if limit is not None:
        for quota, window in timed:
            if quota == limit:
                return quota, window
    if timed:
        return min(timed, key=lambda p: p[0] / (p[1] or 1.0))
    if policies:
        return policies[0][0], None
    return None, None


def _head(value: str | None) -> str | None:
    # "100, 100;w=60" (draft 3 put policies here too): the first item is the value.
    if value is None:
        return None
    return value.split(",")[0].split(";")[0].strip()


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _count(value: str | None) -> int | None:
    number = _number(value)
    if number is None or number < 0:
        return None
    return int(number)


def _seconds(value: str | None) -> float | None:
    number = _number(value)
    return None if number is None else max(number, 0.0)


def _epoch_or_seconds(value: str | None, now: float) -> float | None:
    number = _seconds(value)
    if number is None:
        return None
    if number > _EPOCH_MS_THRESHOLD:
        return max(number / 1000.0 - now, 0.0)
    if number > _EPOCH_THRESHOLD:
        return max(number - now, 0.0)
    return number


def _first(current: _T | None, candidate: _T | None) -> _T | None:
    return current if current is not None else candidate
