"""A sweep's settings."""

from __future__ import annotations

import math
from typing import Any

import attrs

from rerunorch.api import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT
from rerunorch.errors import ConfigError
from rerunorch.polling import PollPolicy
from rerunorch.secret import mask_url
from rerunorch.sharding import Shard
from rerunorch.verdicts import BetaPrior

__all__ = ["VERDICTS", "SweepSettings"]


def _number(value: Any, name: str, *, whole: bool) -> None:
    """Refuse what is not a finite number (``nan``, ``inf``, a bool, a string)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (float, int))
        or (whole and not isinstance(value, int))
    ):
        want = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {want}, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")


def _check(*, whole: bool = False, zero: bool = False) -> Any:
    """An attrs validator: a finite number above 0 (or from 0 with ``zero``); None passes."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        _number(value, attribute.name, whole=whole)
        if value < 0 or (value == 0 and not zero):
            bound = "at least 0" if zero else "positive"
            raise ValueError(f"{attribute.name} must be {bound}, not {value!r}")

    return validate


_positive = _check()
_positive_whole = _check(whole=True)
_not_negative = _check(zero=True)


def _fraction(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive(instance, attribute, value)
    if value > 1:
        raise ValueError(f"{attribute.name} must be at most 1, not {value!r}")


VERDICTS = ("broken", "undecided", "flaky")
"""The verdicts ``fail_on`` may name."""
READ_AHEAD = 1000
"""Targets in progress at once when reruns are followed (at least; ``max_active`` if more)."""


def _fail_on(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not set(value) <= set(VERDICTS):
        raise ValueError(f"fail_on must be a tuple of {', '.join(VERDICTS)}, not {value!r}")


def _share(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _positive(instance, attribute, value)
    if value >= 1:
        raise ValueError(f"{attribute.name} must be below 1, not {value!r}")


def _poll(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Every field of the poll policy is a finite number (the waits positive)."""
    if not isinstance(value, PollPolicy):
        raise ValueError(f"poll must be a PollPolicy, not {value!r}")
    for field in attrs.fields(PollPolicy):
        number = getattr(value, field.name)
        _number(number, f"poll.{field.name}", whole=False)
        waits = field.name in ("initial", "minimum", "cap")
        if number < 0 or (waits and number == 0):
            bound = "positive" if waits else "at least 0"
            raise ValueError(f"poll.{field.name} must be {bound}, not {number!r}")


def _shard(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        if not isinstance(value, str):
            raise ValueError(f"shard must be a string like '2/4', not {value!r}")
        try:
            Shard.parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


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
        max_rounds: Rerun rounds per target at most (1, the library default: a single
            rerun; the CLI defaults to 8, docs/verdicts.md).
        budget: Rerun time for the whole sweep, in seconds (None: no budget).
        deadline: Epoch seconds of the wall clock (the time of day, not the sweep's clock,
            which ``--time-scale`` speeds up) after which no new round starts.
        round_delay: Seconds between a rerun's end and the next round.
        fail_on: The verdicts that make the sweep exit 1.
        threshold: ``P(broken)`` at which a test that failed every time is broken.
        broken_share: The prior share of broken tests among failing ones.
        flaky_alpha, flaky_beta: The Beta prior over a flaky test's failure rate.

    Raises:
        ValueError: A number is not finite (``nan``, ``inf``), not a number, or
            out of its range; a whole number is not an int; ``shard`` is not I/N.
    """

    base_url: str = DEFAULT_BASE_URL
    strategy: str = "failed"
    concurrency: int = attrs.field(default=8, validator=_positive_whole)
    rate: float | None = attrs.field(default=None, validator=_positive)
    burst: int = attrs.field(default=5, validator=_positive_whole)
    max_active: int | None = attrs.field(default=None, validator=_positive_whole)
    wait: bool = True
    poll: PollPolicy = attrs.field(factory=PollPolicy, validator=_poll)
    timeout: float | None = attrs.field(default=4 * 3600.0, validator=_positive)
    stop_on_timeout: bool = False
    dry_run: bool = False
    max_trigger_attempts: int = attrs.field(default=5, validator=_positive_whole)
    plan_busy_retries: int = attrs.field(default=8, validator=_check(whole=True, zero=True))
    plan_busy_wait: float = attrs.field(default=15.0, validator=_not_negative)
    grace: float = attrs.field(default=30.0, validator=_not_negative)
    window: int | None = attrs.field(default=None, validator=_positive_whole)
    shared_limit: str | None = None
    fallback_fraction: float = attrs.field(default=0.25, validator=_fraction)
    shard: str | None = attrs.field(default=None, validator=_shard)
    request_timeout: float = attrs.field(default=DEFAULT_REQUEST_TIMEOUT, validator=_positive)
    max_response_bytes: int = attrs.field(
        default=DEFAULT_MAX_RESPONSE_BYTES, validator=_positive_whole
    )
    # Rounds and verdicts (docs/verdicts.md).
    max_rounds: int = attrs.field(default=1, validator=_positive_whole)
    budget: float | None = attrs.field(default=None, validator=_positive)
    deadline: float | None = attrs.field(default=None, validator=_positive)
    round_delay: float = attrs.field(default=0.0, validator=_not_negative)
    fail_on: tuple[str, ...] = attrs.field(default=("broken", "undecided"), validator=_fail_on)
    threshold: float = attrs.field(default=0.95, validator=_share)
    broken_share: float = attrs.field(default=0.16, validator=_share)
    flaky_alpha: float = attrs.field(default=1.0, validator=_positive)
    flaky_beta: float = attrs.field(default=4.0, validator=_positive)

    @property
    def effective_window(self) -> int:
        """How many targets are worked on at once."""
        if self.window is not None:
            return self.window
        if not self.wait or self.dry_run:
            return max(4 * self.concurrency, 16)
        # Read ahead past max_active: the waiting targets are what the start order picks from.
        return max(self.max_active or 0, READ_AHEAD, 4 * self.concurrency)

    def prior(self) -> BetaPrior:
        """The verdict model's population prior."""
        return BetaPrior(
            broken_share=self.broken_share, alpha=self.flaky_alpha, beta=self.flaky_beta
        )

    def to_json(self) -> dict[str, Any]:
        """The settings for a report or journal, with any password in a URL masked."""
        data = attrs.asdict(self)
        data["poll"] = attrs.asdict(self.poll)
        data["fail_on"] = list(self.fail_on)
        data["base_url"] = mask_url(self.base_url)
        if self.shared_limit:
            data["shared_limit"] = mask_url(self.shared_limit)
        return data
