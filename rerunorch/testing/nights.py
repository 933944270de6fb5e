"""The simulator's nights: each night's original runs, and each test's true rate that night.

Night ``k``'s runs end 1-7 h before ``epoch + (k - last) * DAY``, where ``last`` is the
newest night made at start, so the nights are a day apart on the simulator's clock. Test
case, suite, plan and machine ids come from the seeded ranges of :class:`IdLayout` and stay
the same every night; run and result ids are new each night.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from .config import SimulatorConfig
from .dataset import unit
from .ids import MAX_SUITES, IdLayout
from .model import FAILURE, SUCCESS, Case, Run, Suite
from .nightly import NightlyConfig

__all__ = ["DAY", "Nights"]

DAY = 86400.0
_AREAS = ("Smoke", "Regression", "Payments", "Accounts", "Catalog", "Reports")
_ACTIONS = ("Login", "Search", "Checkout", "Sign up", "Upload", "Export", "Filter", "Pay")
_OBJECTS = ("with valid data", "as guest", "on mobile", "with coupon", "in bulk", "after timeout")
_MACHINES = (
    "Chrome 124 on Windows 11",
    "Firefox 125 on macOS 14",
    "Safari 17 on macOS 14",
    "Edge 124 on Windows 10",
)


class Nights:
    """The nights made so far (``runs(k)``), and the truth behind them (``rate``)."""

    def __init__(self, config: SimulatorConfig, layout: IdLayout, epoch: float) -> None:
        assert config.nightly is not None
        self._seed = config.seed
        self.config: NightlyConfig = config.nightly
        self._layout = layout
        self._epoch = epoch
        self._nights: list[list[Run]] = []
        self._flat: list[Run] = []
        self._night_of: dict[int, int] = {}
        self._changes = self._schedule()

    # -- the tests and their truth ------------------------------------------------------

    @property
    def count(self) -> int:
        """Nights made so far."""
        return len(self._nights)

    @property
    def plan_ids(self) -> list[int]:
        """The plans, in their order."""
        return [self._layout.plan + p for p in range(self.config.plans)]

    def test_id(self, number: int) -> int:
        """The test case id of test ``number`` (plan ``p``'s test ``j`` is ``p * tests + j``)."""
        return self._layout.test_case + number

    def tests(self) -> dict[int, str]:
        """Test case id -> name, every test in number order."""
        total = self.config.plans * self.config.tests
        return {self.test_id(n): self._name(n) for n in range(total)}

    def rate(self, test_case_id: int, night: int) -> float:
        """The true chance that test ``test_case_id`` fails one execution on night ``night``."""
        number = test_case_id - self._layout.test_case
        rate = self._base_rate(number)
        for first, new in self._changes.get(number, ()):
            if night >= first:
                rate = new
        return rate

    def rates(self, night: int) -> dict[int, float]:
        """Test case id -> its true failure rate on ``night``."""
        return {tc: self.rate(tc, night) for tc in self.tests()}

    def outage_share(self, night: int, plan: int, machine: int) -> float:
        """The chance an outage makes each test of this run fail (0: no outage)."""
        shares = [
            o.share
            for o in self.config.outages
            if o.night == night
            and (o.plan is None or o.plan == plan)
            and (o.machine is None or o.machine == machine)
        ]
        return max(shares, default=0.0)

    # -- the runs -----------------------------------------------------------------------

    def runs(self, night: int) -> list[Run]:
        """Night ``night``'s original runs (negative counts from the newest).

        Raises:
            IndexError: If there is no such night.
        """
        if not -self.count <= night < self.count:
            raise IndexError(f"there is no night {night}: {self.count} nights were made")
        return list(self._nights[night])

    def outage_runs(self, night: int) -> list[Run]:
        """The runs of ``night`` an outage hit (negative counts from the newest)."""
        runs = self.runs(night)
        number = night % self.count
        machines = self.config.machines
        return [
            run
            for position, run in enumerate(runs)
            if self.outage_share(number, *divmod(position, machines)) > 0
        ]

    def flat(self, index: int) -> Run:
        """The ``index``-th original run of all the nights (oldest night first)."""
        return self._flat[index]

    @property
    def total(self) -> int:
        """Original runs of all the nights."""
        return len(self._flat)

    def night_of(self, run: Run) -> int | None:
        """The night of an original run or a rerun of one (None: not of a night)."""
        return self._night_of.get(run.root_id)

    def make(self, ids: Iterator[int]) -> list[Run]:
        """Make the next night's runs, taking run and result ids from ``ids``."""
        night = self.count
        runs = [
            self._run(night, plan, machine, ids)
            for plan in range(self.config.plans)
            for machine in range(self.config.machines)
        ]
        self._nights.append(runs)
        self._flat.extend(runs)
        self._night_of.update((run.id, night) for run in runs)
        return runs

    def fresh(self, plan_id: int, run_id: int, now: float, ids: Iterator[int]) -> Run | None:
        """A fresh run of ``plan_id`` started at ``now`` on its first machine (None: no plan)."""
        plan = plan_id - self._layout.plan
        if not 0 <= plan < self.config.plans:
            return None
        night = max(0, self.count - 1)
        return self._build(night, plan, 0, run_id, now, ids, fresh=True)

    def _run(self, night: int, plan: int, machine: int, ids: Iterator[int]) -> Run:
        run_id = next(ids)
        low, high = self.config.run_duration
        duration = low + (high - low) * unit(self._seed, "night-duration", night, plan, machine)
        age = 3600 + unit(self._seed, "night-start", night, plan, machine) * 6 * 3600
        newest = self.config.nights - 1
        start = self._epoch + (night - newest) * DAY - age - duration
        run = self._build(night, plan, machine, run_id, start, ids, duration=duration)
        return run

    def _build(
        self,
        night: int,
        plan: int,
        machine: int,
        run_id: int,
        start: float,
        ids: Iterator[int],
        *,
        duration: float | None = None,
        fresh: bool = False,
    ) -> Run:
        config, layout = self.config, self._layout
        n_suites = min(MAX_SUITES, config.tests)
        suites = tuple(
            Suite(
                id=layout.suite + plan * MAX_SUITES + s,
                name=f"{_AREAS[(plan + s) % len(_AREAS)]} suite {s + 1}",
                result_id=next(ids),
            )
            for s in range(n_suites)
        )
        outage = 0.0 if fresh else self.outage_share(night, plan, machine)
        key = ("fresh", run_id) if fresh else (night, plan, machine)
        cases = []
        for j in range(config.tests):
            number = plan * config.tests + j
            tc = self.test_id(number)
            failed = unit(self._seed, "night-result", *key, j) < self.rate(tc, night) or (
                unit(self._seed, "night-outage", *key, j) < outage
            )
            result = FAILURE if failed else SUCCESS
            cases.append(
                Case(
                    test_case_id=tc,
                    name=self._name(number),
                    result_id=next(ids),
                    suite=j * n_suites // config.tests,
                    data_driven=False,
                    iterations=(),
                    result=result,
                    base=result,
                )
            )
        if duration is None:
            low, high = config.run_duration
            duration = low + (high - low) * unit(self._seed, "fresh-duration", run_id)
        machine_no = plan * config.machines + machine
        return Run(
            id=run_id,
            execution_id=layout.plan + plan,
            created_at=start,
            duration=duration,
            cases=tuple(cases),
            suites=suites,
            machine_id=layout.machine + machine_no,
            machine_title=_MACHINES[machine % len(_MACHINES)],
            machine_result_id=next(ids),
            root_id=run_id,
            triggered_type="API" if fresh else "SCHEDULED",
            build_no=None if fresh else f"nightly-{night + 1}",
            night=night,
        )

    # -- seeded truth -------------------------------------------------------------------

    def _name(self, number: int) -> str:
        rng = random.Random(f"{self._seed}:night-name:{number}")
        plan, j = divmod(number, self.config.tests)
        return f"{rng.choice(_ACTIONS)} {rng.choice(_OBJECTS)} #{j + 1} (plan {plan + 1})"

    def _kind(self, number: int) -> str:
        draw = unit(self._seed, "night-kind", number)
        if draw < self.config.broken_fraction:
            return "broken"
        if draw < self.config.broken_fraction + self.config.flaky_fraction:
            return "flaky"
        return "healthy"

    def _flaky_rate(self, number: int) -> float:
        a, b = self.config.flaky_rate
        return random.Random(f"{self._seed}:night-rate:{number}").betavariate(a, b)

    def _base_rate(self, number: int) -> float:
        kind = self._kind(number)
        return 1.0 if kind == "broken" else self._flaky_rate(number) if kind == "flaky" else 0.0

    def _schedule(self) -> dict[int, list[tuple[int, float]]]:
        """Test number -> its rate changes ``(first night, rate)``, in the order applied."""
        config = self.config
        changes: dict[int, list[tuple[int, float]]] = {}
        for number in range(config.plans * config.tests):
            if unit(self._seed, "night-drift", number) >= config.drift:
                continue
            span = max(1, (config.drift_nights or config.nights) - 1)
            night = 1 + int(unit(self._seed, "night-drift-at", number) * span)
            healthy = self._kind(number) == "healthy"
            rate = max(0.05, self._flaky_rate(number)) if healthy else 0.0
            changes.setdefault(number, []).append((night, rate))
        for change in config.changes:
            changes.setdefault(change.test, []).append((change.night, change.rate))
        for entries in changes.values():
            entries.sort(key=lambda entry: entry[0])
        return changes
