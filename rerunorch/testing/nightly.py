"""What the simulator's nights are: the same plans and tests every night, with true rates.

:class:`NightlyConfig` (``SimulatorConfig(nightly=...)``) replaces the seeded runs by
nights: every night each plan runs once on each of its machines, with the same test cases
(same ids and names), and each test fails each execution with its own true rate. A rate may
change from a night on (:class:`RateChange`, or the seeded ``drift``), and a night may have
an outage (:class:`Outage`): one plan or machine failing most of its tests for a reason
that has nothing to do with them. See docs/simulator.md, "Nights".
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["NightlyConfig", "Outage", "RateChange"]


def _share(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], not {value!r}")


def _beta(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and 0 < v < 1e6 for v in value)
    ):
        raise ValueError(f"{attribute.name} must be two positive numbers (a, b), not {value!r}")


_at_least_0 = attrs.validators.ge(0)
_at_least_1 = attrs.validators.ge(1)


@attrs.frozen(kw_only=True)
class RateChange:
    """From night ``night`` on, test number ``test`` fails with true rate ``rate``.

    Attributes:
        test: The test's number: plan ``p``'s test ``j`` is ``p * tests + j``
            (``Simulator.night_tests()`` lists the ids in this order).
        night: The first night (0 is the oldest) with the new rate.
        rate: The new true failure rate: 0 fixed, 1 broken, in between flaky.
    """

    test: int = attrs.field(validator=_at_least_0)
    night: int = attrs.field(validator=_at_least_0)
    rate: float = attrs.field(validator=_share)


@attrs.frozen(kw_only=True)
class Outage:
    """On night ``night``, a plan's (or a machine's) runs fail ``share`` of their tests.

    Attributes:
        night: The night (0 is the oldest).
        plan: The plan's number (0 is the first plan), or None for every plan.
        machine: The machine's number (0 is each plan's first machine), or None for all.
        share: The chance that each test of those runs fails, whatever its own rate (its
            reruns, after the outage, fail only at the test's own rate).
    """

    night: int = attrs.field(validator=_at_least_0)
    plan: int | None = attrs.field(default=None, validator=attrs.validators.optional(_at_least_0))
    machine: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_at_least_0)
    )
    share: float = attrs.field(default=0.9, validator=_share)


@attrs.frozen(kw_only=True)
class NightlyConfig:
    """The nights a simulator serves instead of its seeded runs.

    Attributes:
        plans: Test plans, each run once a night on each machine.
        machines: Machines (environments) of each plan: one run per plan and machine a night.
        tests: Test cases of each plan (every machine runs them all; none is data-driven).
        nights: Nights made at start; the newest is last night (its runs started 1-7 h
            before the simulator), each other one a day before the next.
            ``Simulator.new_night()`` makes more.
        flaky_fraction: Share of the tests that are flaky, each with its own rate.
        broken_fraction: Share of the tests that are broken (fail every time).
        flaky_rate: ``(a, b)``: a flaky test's true failure rate is drawn from Beta(a, b).
        drift: Share of the tests whose rate changes once, on a seeded night from 1 to
            ``drift_nights - 1``: a healthy one becomes flaky, a flaky or broken one is fixed.
        drift_nights: The nights ``drift`` spreads over (None: ``nights``); set it when
            more nights will come from ``Simulator.new_night()``.
        changes: Rate changes chosen by hand (applied after ``drift``).
        outages: Outage nights.
        run_duration: (min, max) seconds of one night's run.
    """

    plans: int = attrs.field(default=3, validator=_at_least_1)
    machines: int = attrs.field(default=1, validator=_at_least_1)
    tests: int = attrs.field(default=20, validator=_at_least_1)
    nights: int = attrs.field(default=1, validator=_at_least_1)
    flaky_fraction: float = attrs.field(default=0.1, validator=_share)
    broken_fraction: float = attrs.field(default=0.02, validator=_share)
    flaky_rate: tuple[float, float] = attrs.field(default=(2.0, 8.0), validator=_beta)
    drift: float = attrs.field(default=0.0, validator=_share)
    drift_nights: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_at_least_1)
    )
    changes: tuple[RateChange, ...] = attrs.field(default=(), converter=tuple)
    outages: tuple[Outage, ...] = attrs.field(default=(), converter=tuple)
    run_duration: tuple[float, float] = attrs.field(default=(600.0, 3600.0))

    def __attrs_post_init__(self) -> None:
        if self.flaky_fraction + self.broken_fraction > 1:
            raise ValueError(
                "flaky_fraction + broken_fraction must be at most 1, not "
                f"{self.flaky_fraction} + {self.broken_fraction}"
            )
        low, high = self.run_duration
        if not 0 < low <= high:
            raise ValueError(f"run_duration must satisfy 0 < min <= max, not {self.run_duration}")
        for change in self.changes:
            if change.test >= self.plans * self.tests:
                raise ValueError(
                    f"changes: test {change.test} does not exist "
                    f"(tests are numbered 0 to {self.plans * self.tests - 1})"
                )
        for outage in self.outages:
            if outage.plan is not None and outage.plan >= self.plans:
                raise ValueError(
                    f"outages: plan {outage.plan} does not exist (plans: {self.plans})"
                )
            if outage.machine is not None and outage.machine >= self.machines:
                raise ValueError(
                    f"outages: machine {outage.machine} does not exist (machines: {self.machines})"
                )

    @property
    def runs_per_night(self) -> int:
        """One run per plan and machine."""
        return self.plans * self.machines
