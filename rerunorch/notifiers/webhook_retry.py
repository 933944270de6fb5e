"""When a POST is tried again, kept apart from the code that posts."""

from __future__ import annotations

import dataclasses

__all__ = ["RETRY_STATUSES", "RetryPolicy"]

# Too many requests, and the server errors that mean "not now" rather than "never".
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, bounded.

    Attributes:
        retries: How many times a request is tried again (0: never).
        backoff: The first wait in seconds; each next one doubles.
        max_backoff: The longest wait, also for a server's ``Retry-After``:
            a server asking for longer is not waited for.

    >>> [RetryPolicy(backoff=1.0, max_backoff=5.0).wait(n) for n in range(4)]
    [1.0, 2.0, 4.0, 5.0]
    >>> RetryPolicy().wait(0, retry_after=7.0)
    7.0
    """

    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based): the server's
        ``Retry-After`` if it gave one, else the backoff, at most ``max_backoff``."""
        if retry_after is not None:
            return retry_after
        return min(self.max_backoff, self.backoff * 2.0**attempt)
