"""The seeded data set: plans and their completed original runs, made lazily from (seed, id)."""

from __future__ import annotations

import functools
import hashlib
import random

from .config import SimulatorConfig
from .ids import MAX_SUITES, IdLayout
from .model import ABORTED, FAILURE, NOT_EXECUTED, SUCCESS, Case, Iteration, Run, Suite

__all__ = ["Dataset", "unit"]

_ACTIONS = ("Login", "Search", "Checkout", "Sign up", "Upload", "Export", "Filter", "Pay")
_OBJECTS = ("with valid data", "as guest", "on mobile", "with coupon", "in bulk", "after timeout")
_AREAS = ("Smoke", "Regression", "Payments", "Accounts", "Catalog", "Reports")
_MACHINES = (
    "Chrome 124 on Windows 11",
    "Firefox 125 on macOS 14",
    "Safari 17 on macOS 14",
    "Edge 124 on Windows 10",
)


def unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by ``seed`` and ``parts`` (stable across processes)."""
    key = ":".join(map(str, (seed, *parts))).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Dataset:
    """The seeded original runs; index ``i`` is run ``layout.run + i`` of plan ``layout.plan + i``.

    Indices below ``config.targets`` have failures; the others fully passed. Runs are built on
    demand (and a few thousand kept in a cache), so 100,000 targets cost nothing up front.
    """

    def __init__(self, config: SimulatorConfig, layout: IdLayout, epoch: float) -> None:
        self._config = config
        self._layout = layout
        self._epoch = epoch
        self.original = functools.lru_cache(maxsize=4096)(self._build)

    def is_flaky(self, test_case_id: int, set_name: str | None) -> bool:
        """Whether a failure of this test (or iteration) passes on rerun."""
        return unit(self._config.seed, "flaky", test_case_id, set_name) < (
            self._config.flaky_probability
        )

    def fail_rate(self, test_case_id: int, set_name: str | None) -> float:
        """The true chance that a rerun of this failed test fails: 1 if broken."""
        if not self.is_flaky(test_case_id, set_name):
            return 1.0
        if self._config.flaky_rate is None:
            return 0.0
        a, b = self._config.flaky_rate
        rng = random.Random(f"{self._config.seed}:rate:{test_case_id}:{set_name}")
        return rng.betavariate(a, b)

    def rerun_result(
        self, test_case_id: int, set_name: str | None, base: str, trial: object = None
    ) -> str:
        """What a rerun (``trial``: which one) gives for a test whose first result was ``base``."""
        if base == SUCCESS:
            return SUCCESS
        rate = self.fail_rate(test_case_id, set_name)
        if rate >= 1:
            return base
        draw = unit(self._config.seed, "trial", test_case_id, set_name, trial)
        return base if draw < rate else SUCCESS

    def _build(self, index: int) -> Run:
        config, layout = self._config, self._layout
        rng = random.Random(f"{config.seed}:run:{index}")
        failing = index < config.targets
        count = rng.randint(*config.tests_per_run)
        n_suites = rng.randint(1, min(MAX_SUITES, count))
        suites = tuple(
            Suite(
                id=layout.suite + index * MAX_SUITES + s,
                name=f"{rng.choice(_AREAS)} suite {s + 1}",
                result_id=layout.suite_result + index * MAX_SUITES + s,
            )
            for s in range(n_suites)
        )
        failed = {j for j in range(count) if rng.random() < config.failure_fraction}
        if failing and not failed:
            failed = {rng.randrange(count)}
        cases = tuple(
            self._case(rng, index, j, count, n_suites, j in failed and failing)
            for j in range(count)
        )
        duration = rng.uniform(*config.run_duration)
        # Recent enough that auto-reruns of the seeded failures race with a sweep.
        age = rng.random() * 2 * config.auto_rerun_delay if config.auto_rerun else 60 + index
        plan, triggered = index, "MANUAL"
        if config.plans is not None:  # nightly runs of a few plans (drawn apart from `rng`)
            plan, triggered = index % config.plans, "SCHEDULED"
            night = (index // config.plans) % config.nights
            age = night * 86400 + 3600 + unit(config.seed, "night", index) * 6 * 3600
        return Run(
            id=layout.run + index,
            execution_id=layout.plan + plan,
            created_at=self._epoch - age - duration,
            duration=duration,
            cases=cases,
            suites=suites,
            machine_id=layout.machine + index,
            machine_title=rng.choice(_MACHINES),
            machine_result_id=layout.machine_result + index,
            root_id=layout.run + index,
            triggered_type=triggered,
        )

    def _case(
        self, rng: random.Random, index: int, j: int, count: int, n_suites: int, failed: bool
    ) -> Case:
        config, layout = self._config, self._layout
        slot = index * layout.tests + j
        data_driven = rng.random() < config.data_driven_fraction
        iterations: tuple[Iteration, ...] = ()
        result = _failure(rng) if failed else SUCCESS
        if data_driven:
            n = rng.randint(*config.iterations)
            bad = {m for m in range(n) if rng.random() < 0.5} if failed else set()
            if failed and not bad:
                bad = {rng.randrange(n)}
            results = [_failure(rng) if m in bad else SUCCESS for m in range(n)]
            iterations = tuple(
                Iteration(
                    id=layout.iteration + slot * layout.iterations + m,
                    set_name=f"set_{m + 1}",
                    result=results[m],
                    base=results[m],
                )
                for m in range(n)
            )
            result = next((r for r in results if r != SUCCESS), SUCCESS)
        return Case(
            test_case_id=layout.test_case + slot,
            name=f"{rng.choice(_ACTIONS)} {rng.choice(_OBJECTS)} #{j + 1}",
            result_id=layout.case_result + slot,
            suite=j * n_suites // count,
            data_driven=data_driven,
            iterations=iterations,
            result=result,
            base=result,
        )


def _failure(rng: random.Random) -> str:
    draw = rng.random()  # 70 % FAILURE, 15 % ABORTED, 15 % NOT_EXECUTED
    return FAILURE if draw < 0.7 else ABORTED if draw < 0.85 else NOT_EXECUTED
