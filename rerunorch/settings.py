"""A sweep's settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from rerunorch.api import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT
from rerunorch.polling import PollPolicy

__all__ = ["SweepSettings"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive, not {value!r}")


@attrs.frozen(kw_only=True)
class SweepSettings:
    """How a sweep runs. Times are seconds of the sweep's clock.

    Attributes:
        base_url: The Testsigma server.
        strategy: The selection strategy's name (``failed`` by default).
        concurrency: HTTP requests in flight at most.
        rate: Requests per second at most (None: adapt to the server).
        burst: Requests that may go at once after a quiet spell.
        max_active: Reruns running on the server at once at most (None: no cap).
        wait: Follow each rerun to its end (else stop once it is triggered).
        poll: How reruns are polled.
        timeout: Per-rerun deadline from its trigger (None: none).
        stop_on_timeout: Stop a rerun on the server when its deadline passes.
        dry_run: Read and decide, print the plan, trigger nothing.
        max_trigger_attempts: POSTs per target at most (each after checking the parent).
        plan_busy_retries: Waits for a busy plan ("currently running") before giving up.
        plan_busy_wait: The first such wait (it doubles).
        grace: After a stop request, how long running reruns are still followed.
        window: Targets in progress at once (None: derived from the caps above).
        shared_limit: A ``redis://`` URL: share the rate, pauses and ``max_active``
            with every process that uses the same Redis and account.
        fallback_fraction: Without Redis, pace locally at this share of the limits.
        shard: ``"I/N"``: take only the targets of shard I of N.
        request_timeout: Seconds for one HTTP request, the answer's last byte included.
        max_response_bytes: The longest answer read; a longer one is an error.
    """

    base_url: str = DEFAULT_BASE_URL
    strategy: str = "failed"
    concurrency: int = attrs.field(default=8, validator=_positive)
    rate: float | None = attrs.field(default=None, validator=_positive)
    burst: int = attrs.field(default=5, validator=_positive)
    max_active: int | None = attrs.field(default=None, validator=_positive)
    wait: bool = True
    poll: PollPolicy = attrs.field(factory=PollPolicy)
    timeout: float | None = attrs.field(default=4 * 3600.0, validator=_positive)
    stop_on_timeout: bool = False
    dry_run: bool = False
    max_trigger_attempts: int = attrs.field(default=5, validator=_positive)
    plan_busy_retries: int = 8
    plan_busy_wait: float = 15.0
    grace: float = 30.0
    window: int | None = attrs.field(default=None, validator=_positive)
    shared_limit: str | None = None
    fallback_fraction: float = attrs.field(default=0.25, validator=_positive)
    shard: str | None = None
    request_timeout: float = attrs.field(default=DEFAULT_REQUEST_TIMEOUT, validator=_positive)
    max_response_bytes: int = attrs.field(default=DEFAULT_MAX_RESPONSE_BYTES, validator=_positive)

    @property
    def effective_window(self) -> int:
        """How many targets are worked on at once."""
        if self.window is not None:
            return self.window
        if not self.wait or self.dry_run:
            return max(4 * self.concurrency, 16)
        return max(self.max_active or 1000, 4 * self.concurrency)

    def to_json(self) -> dict[str, Any]:
        """The settings for a report or journal (there are no secrets here)."""
        data = attrs.asdict(self)
        data["poll"] = attrs.asdict(self.poll)
        if self.shared_limit:
            data["shared_limit"] = _without_password(self.shared_limit)
        return data


def _without_password(url: str) -> str:
    parsed = urlsplit(url)
    if parsed.password is None:
        return url
    netloc = f"{parsed.username or ''}:***@{parsed.hostname}"
    if parsed.port:
        netloc += f":{parsed.port}"
    return urlunsplit(parsed._replace(netloc=netloc))
