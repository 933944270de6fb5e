"""Disjoint id ranges, so that no two plans, runs, results or iterations share an id."""

from __future__ import annotations

import itertools

import attrs

from .config import SimulatorConfig

__all__ = ["MAX_SUITES", "IdLayout"]

MAX_SUITES = 3
_FIRST_ID = 1000


def _span(size: int) -> int:
    """The power of ten that holds ``size`` ids (at least 1000), so ids stay readable."""
    span = 1000
    while span < size:
        span *= 10
    return span


@attrs.frozen
class IdLayout:
    """Where each kind of seeded id lives; ids made later come from :meth:`counter`.

    Attributes:
        count: Number of seeded original runs (one plan each).
        tests: Most test cases per run (the stride of per-run blocks).
        iterations: Most iterations per case.
        plan: First plan (``executionId``).
        run: First original run id.
        suite: First suite id.
        suite_result: First suite result id.
        machine: First machine id.
        machine_result: First machine result id.
        test_case: First test case id.
        case_result: First test-case result id.
        iteration: First iteration result id.
        dynamic: First id handed out at run time (reruns and their results).
    """

    count: int
    tests: int
    iterations: int
    plan: int
    run: int
    suite: int
    suite_result: int
    machine: int
    machine_result: int
    test_case: int
    case_result: int
    iteration: int
    dynamic: int

    @classmethod
    def for_config(cls, config: SimulatorConfig) -> IdLayout:
        """Lay out the ids of ``config``'s data set."""
        nightly = config.nightly
        if nightly is not None:  # no seeded run: the nights' fixed ids, the rest made later
            plans, runs = nightly.plans, nightly.runs_per_night
            sizes = {
                "plan": plans,
                "run": 0,
                "suite": MAX_SUITES * plans,
                "suite_result": 0,
                "machine": runs,
                "machine_result": 0,
                "test_case": plans * nightly.tests,
                "case_result": 0,
                "iteration": 0,
            }
            return cls._laid_out(0, nightly.tests, 1, sizes)
        count = config.targets + config.passed_targets
        tests, iterations = config.tests_per_run[1], config.iterations[1]
        sizes = {
            "plan": count,
            "run": count,
            "suite": MAX_SUITES * count,
            "suite_result": MAX_SUITES * count,
            "machine": count,
            "machine_result": count,
            "test_case": tests * count,
            "case_result": tests * count,
            "iteration": tests * iterations * count,
        }
        return cls._laid_out(count, tests, iterations, sizes)

    @classmethod
    def _laid_out(cls, count: int, tests: int, iterations: int, sizes: dict[str, int]) -> IdLayout:
        bases: dict[str, int] = {}
        base = _FIRST_ID
        for name, size in sizes.items():
            bases[name] = base
            base += _span(size)
        return cls(count=count, tests=tests, iterations=iterations, dynamic=base, **bases)

    def counter(self) -> itertools.count[int]:
        """A fresh source of ids above every seeded one."""
        return itertools.count(self.dynamic)

    def run_index(self, run_id: int) -> int | None:
        """The seeded run's index for ``run_id``, or None if it is not a seeded run."""
        index = run_id - self.run
        return index if 0 <= index < self.count else None

    def plan_index(self, plan_id: int) -> int | None:
        """The seeded plan's index for ``plan_id``, or None if it is not a plan."""
        index = plan_id - self.plan
        return index if 0 <= index < self.count else None
