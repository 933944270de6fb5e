"""How a simulator behaves: its data set, its timing and the faults it injects."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from .nightly import NightlyConfig

__all__ = ["AmbiguousMode", "ChildResultStyle", "RetryAfterStyle", "SimulatorConfig"]

RetryAfterStyle = Literal["seconds", "date", "none"]
AmbiguousMode = Literal["reset", "500", "502", "mixed"]
ChildResultStyle = Literal["id", "object"]


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], not {value!r}")


def _int_range(
    instance: object, attribute: attrs.Attribute[tuple[int, int]], value: object
) -> None:
    _check_range(attribute.name, value, minimum=1)


def _float_range(
    instance: object, attribute: attrs.Attribute[tuple[float, float]], value: object
) -> None:
    _check_range(attribute.name, value, minimum=0)


def _check_range(name: str, value: object, *, minimum: float) -> None:
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ValueError(f"{name} must be a (min, max) pair, not {value!r}")
    low, high = value
    if not minimum <= low <= high:
        raise ValueError(f"{name} must satisfy {minimum} <= min <= max, not {value!r}")


def _beta(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not (
        len(value) == 2 and all(isinstance(v, (int, float)) and 0 < v < 1e6 for v in value)
    ):
        raise ValueError(f"{attribute.name} must be two positive numbers (a, b), not {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value!r}")


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive or None, not {value!r}")


_one_of = attrs.validators.in_


@attrs.frozen(kw_only=True)
class SimulatorConfig:
    """Everything a :class:`~rerunorch.testing.Simulator` does, seeded so that runs repeat.

    Durations are in seconds of the simulator's clock (see :mod:`rerunorch.clock`).

    Attributes:
        seed: Seeds the data set and every injected fault.
        targets: Number of seeded original runs with failures (what a sweep reruns).
        passed_targets: Number of seeded original runs that fully passed.
        api_key: The only key accepted as ``Authorization: Bearer <api_key>``.
        tests_per_run: (min, max) test cases per original run.
        data_driven_fraction: Share of test cases that are data-driven.
        iterations: (min, max) iterations of a data-driven case.
        failure_fraction: Share of the cases that fail in a failing original run (at least one).
        flaky_probability: Probability that a failed test (or iteration) passes on rerun; decided
            once per test from the seed, so a broken test fails again on every rerun.
        flaky_rate: ``(a, b)``: each flaky test (and iteration) fails each rerun with its own
            true rate drawn from Beta(a, b), so it may fail again (reruns of reruns too: each
            rerun is a new draw). None: a flaky test always passes on rerun.
        run_duration: (min, max) duration of an original run; a rerun lasts its parent's duration
            scaled by the share of tests it reruns (±20 % seeded noise), kept in this range.
        rate_limit: Requests per second allowed over all ``/api/v1`` calls, or None for no limit.
        rate_burst: Token-bucket size; None means ``max(1, ceil(rate_limit))``.
        retry_after: How a 429 says when to come back: ``"seconds"``, an HTTP ``"date"`` or
            ``"none"`` (no header).
        ratelimit_headers: Send ``RateLimit``/``RateLimit-Policy`` and ``X-RateLimit-*`` headers.
        fault_503_rate: Probability that a request gets a 503 before anything is done.
        ambiguous_fault_rate: Probability that a rerun POST creates the rerun and then loses the
            answer.
        ambiguous_mode: How the answer is lost: ``"reset"`` (connection cut), ``"500"``,
            ``"502"`` or ``"mixed"`` (any of the three).
        latency: Seconds added to every ``/api/v1`` request.
        auto_rerun: The server reruns a failed run's failures by itself ``auto_rerun_delay``
            after it completes (a race with the orchestrator).
        auto_rerun_delay: See ``auto_rerun``.
        plan_busy_rate: Probability that a POST is refused with 500 "The specified Test Plan is
            currently running...".
        max_active_runs: Cap on runs not yet completed at once (the account's parallel limit);
            a POST over it is refused with 500. None for no cap.
        child_result_style: ``childResult`` as an ``"id"`` or a nested ``"object"``.
        max_reruns_per_run: Most reruns in one chain.
        revoke_key_after: The key is revoked once this many requests were let through with it:
            every later one gets 401 (a key revoked mid-sweep). None: never.
        plans: Spread the seeded runs over this many test plans (run ``i`` is of plan
            ``i % plans``), started on past nights, as scheduled runs. None: one plan per
            run, started just before the simulator (as before).
        nights: With ``plans``: over how many nights (run ``i`` started ``(i // plans) %
            nights`` days ago, between 1 and 7 hours before that day's same time).
    """

    seed: int = 0
    targets: int = attrs.field(default=20, validator=attrs.validators.ge(0))
    passed_targets: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    api_key: str = attrs.field(default="sim-api-key", repr=False)
    tests_per_run: tuple[int, int] = attrs.field(default=(3, 12), validator=_int_range)
    data_driven_fraction: float = attrs.field(default=0.25, validator=_probability)
    iterations: tuple[int, int] = attrs.field(default=(2, 5), validator=_int_range)
    failure_fraction: float = attrs.field(default=0.3, validator=_probability)
    flaky_probability: float = attrs.field(default=0.5, validator=_probability)
    flaky_rate: tuple[float, float] | None = attrs.field(default=None, validator=_beta)
    run_duration: tuple[float, float] = attrs.field(default=(10.0, 120.0), validator=_float_range)
    rate_limit: float | None = attrs.field(default=None, validator=_positive_or_none)
    rate_burst: int | None = attrs.field(default=None, validator=_positive_or_none)
    retry_after: RetryAfterStyle = attrs.field(
        default="seconds", validator=_one_of(("seconds", "date", "none"))
    )
    ratelimit_headers: bool = False
    fault_503_rate: float = attrs.field(default=0.0, validator=_probability)
    ambiguous_fault_rate: float = attrs.field(default=0.0, validator=_probability)
    ambiguous_mode: AmbiguousMode = attrs.field(
        default="mixed", validator=_one_of(("reset", "500", "502", "mixed"))
    )
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    auto_rerun: bool = False
    auto_rerun_delay: float = attrs.field(default=30.0, validator=_non_negative)
    plan_busy_rate: float = attrs.field(default=0.0, validator=_probability)
    max_active_runs: int | None = attrs.field(default=None, validator=_positive_or_none)
    child_result_style: ChildResultStyle = attrs.field(
        default="id", validator=_one_of(("id", "object"))
    )
    max_reruns_per_run: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    revoke_key_after: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    plans: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    nights: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    nightly: NightlyConfig | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(NightlyConfig)),
    )

    @property
    def burst(self) -> int:
        """The token-bucket size actually used (meaningful only with a ``rate_limit``)."""
        if self.rate_burst is not None:
            return self.rate_burst
        return max(1, math.ceil(self.rate_limit or 1))
