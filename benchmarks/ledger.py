"""``ledger``: 30 simulated nights over 2,000 tests with known rates, remembered or not.

The simulator's nights (``SimulatorConfig(nightly=...)``): 20 plans of 100 tests, each
night one run of each plan; 10% of the tests flaky (a true failure rate from Beta(2, 8)),
2% broken, 2% drifting once (a healthy test becomes flaky, a flaky or broken one is
fixed), and two outage nights (one plan fails 90% of its tests). Every night the newest
night's failed runs are swept (adaptive rounds, ``max_rounds=8``) on a clock that jumps a
day between nights. The season is run twice from the same seed: without history, and
with the ledger feeding the rounds (each test's own prior).

Figures, on the flake model's summary after the last night against the last night's true
rates: the coverage of the true failure rate by the 90% intervals (all tests; the tests
that failed at least once; the flaky ones), the precision of ``broken``, the Brier score
of ``P(broken)``, test executions per night with and without history, the share of the
failing flaky tests proven flaky each way, and ``rerunorch flaky`` over one million
observations on SQLite.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import anyio
import attrs
from common import API_KEY, emit

from rerunorch import ScaledClock, Sweep, SweepListener, SweepReport, SweepSettings
from rerunorch.cli.recording import LedgerListener
from rerunorch.ledger.advice import SweepHistory
from rerunorch.ledger.model import summarize
from rerunorch.ledger.recorder import Recorder
from rerunorch.ledger.records import FlakeStatus, Observation, TestFlake
from rerunorch.ledger.store import LedgerStore
from rerunorch.testing import NightlyConfig, Outage, Simulator, SimulatorConfig
from rerunorch.verdicts import Seen, Verdict

__all__ = ["NightClock", "Season", "flaky_timing", "ledger", "season"]

DAY = 86400.0
_LIMIT = 600.0  # wall seconds for one night's sweep, or one command, at most


class NightClock(ScaledClock):
    """A :class:`ScaledClock` whose time can jump ahead (a day between two nights)."""

    def __init__(self, scale: float) -> None:
        super().__init__(scale)
        self._jumped = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self._jumped

    def jump(self, seconds: float) -> None:
        """Move the clock ``seconds`` on at once (nobody sleeps across a jump here)."""
        self._jumped += seconds


@attrs.frozen(kw_only=True)
class Shape:
    """A big ledger: every test on ``machines`` for ``nights``, with ``iterations`` data sets."""

    name: str
    machines: int
    nights: int
    iterations: int = 0


@attrs.frozen(kw_only=True)
class Sizes:
    """One season's size, and the big ledgers' shapes."""

    nights: int
    plans: int
    tests: int
    ledgers: tuple[Shape, ...]


FULL = Sizes(
    nights=30,
    plans=20,
    tests=100,
    ledgers=(  # about 1,000,000 observations each, 2,000 tests
        Shape(name="one-per-tally", machines=4, nights=125),  # the worst case: 1,000,000 tallies
        Shape(name="data-driven", machines=1, nights=30, iterations=16),  # 60,000 tallies
    ),
)
QUICK = Sizes(
    nights=4,
    plans=4,
    tests=20,
    ledgers=(
        Shape(name="one-per-tally", machines=2, nights=5),
        Shape(name="data-driven", machines=1, nights=2, iterations=4),
    ),
)


@attrs.define
class Season:
    """What one season of nights gave: the model's summary, and what each night cost."""

    observations: int = 0
    flakes: list[TestFlake] = attrs.Factory(list)
    executions: list[int] = attrs.Factory(list)  # test executions by reruns, per night
    flaky_failing: int = 0  # truly flaky tests that failed an original run
    flaky_proven: int = 0  # ... and were called flaky that night
    brier: list[float] = attrs.Factory(list)  # the sweeps' own P(broken) of failing tests
    truth: dict[int, float] = attrs.Factory(dict)  # the last night's true rates
    now: float = 0.0
    wall: float = 0.0


def nightly_config(sizes: Sizes) -> SimulatorConfig:
    """The season's simulator: the same seed for both seasons."""
    outages = (
        Outage(night=sizes.nights * 2 // 5, plan=1, share=0.9),
        Outage(night=sizes.nights * 7 // 10, plan=sizes.plans - 1, share=0.9),
    )
    return SimulatorConfig(
        seed=17,
        run_duration=(20.0, 300.0),  # the reruns'
        nightly=NightlyConfig(
            plans=sizes.plans,
            tests=sizes.tests,
            nights=1,
            flaky_fraction=0.1,
            broken_fraction=0.02,
            flaky_rate=(2.0, 8.0),
            drift=0.02,
            drift_nights=sizes.nights,
            outages=outages,
        ),
    )


async def season(sizes: Sizes, folder: str, *, history: bool) -> Season:
    """Sweep every night of one season, each recorded in a ledger in ``folder``; with
    ``history``, what the ledger knew before the night feeds its rounds."""
    clock = NightClock(2000.0)
    kept = Season()
    start = time.perf_counter()
    with LedgerStore.open(f"{folder}/{'history' if history else 'plain'}.sqlite") as store:
        async with Simulator(nightly_config(sizes), clock=clock) as sim:
            for night in range(sizes.nights):
                if night:
                    clock.jump(DAY)
                    sim.new_night()
                known = SweepHistory.of(store.tallies(), now=clock.time()) if history else None
                listener = LedgerListener(Recorder(store))
                report = await _sweep(sim, sim.target_ids, clock, known, listener)
                _count(kept, sim, report)
            kept.truth = sim.true_rates()
            kept.now = clock.time()
        kept.flakes = summarize(store.tallies(), now=kept.now)
        kept.observations = store.count()
    kept.wall = time.perf_counter() - start
    return kept


async def _sweep(
    sim: Simulator,
    targets: Sequence[int],
    clock: NightClock,
    history: SweepHistory | None,
    listener: SweepListener,
) -> SweepReport:
    settings = SweepSettings(base_url=sim.base_url, concurrency=16, max_rounds=8)
    sweep = Sweep(
        targets, settings, api_key=API_KEY, clock=clock, history=history, listener=listener
    )
    with anyio.fail_after(_LIMIT):
        return await sweep.run()


def _count(kept: Season, sim: Simulator, report: SweepReport) -> None:
    night = sim.night_count - 1
    rates = sim.true_rates(night)
    outage = set(sim.outage_runs(night))
    executions = 0
    for outcome in report.results:
        for test in outcome.tests:
            executions += max(0, len(test.run_ids) - 1)
            rate = rates.get(test.test_case_id or -1, 0.0)
            if test.p_broken is not None and outcome.target not in outage:
                kept.brier.append((test.p_broken - (rate >= 1)) ** 2)
            if 0 < rate < 1 and outcome.target not in outage and test.failures:
                kept.flaky_failing += 1
                kept.flaky_proven += test.verdict is Verdict.FLAKY
    kept.executions.append(executions)


def figures(flakes: Sequence[TestFlake], truth: dict[int, float]) -> dict[str, Any]:
    """How well the model's summary matches the true rates."""

    def covered(rows: Sequence[TestFlake]) -> float | None:
        if not rows:
            return None
        hits = sum(t.interval[0] <= truth[t.test_case_id or -1] <= t.interval[1] for t in rows)
        return round(hits / len(rows), 3)

    seen = [t for t in flakes if t.test_case_id in truth]
    failed = [t for t in seen if t.failures]
    flaky = [t for t in seen if 0 < truth[t.test_case_id or -1] < 1]
    said_broken = [t for t in seen if t.status is FlakeStatus.BROKEN]
    truly_broken = [t for t in seen if truth[t.test_case_id or -1] >= 1]
    brier = [(t.p_broken - (truth[t.test_case_id or -1] >= 1)) ** 2 for t in seen]
    brier_failed = [(t.p_broken - (truth[t.test_case_id or -1] >= 1)) ** 2 for t in failed]
    precise = sum(truth[t.test_case_id or -1] >= 1 for t in said_broken)
    return {
        "tests_seen": len(seen),
        "coverage_all": covered(seen),
        "coverage_failed": covered(failed),
        "coverage_flaky": covered(flaky),
        "broken_said": len(said_broken),
        "broken_true": len(truly_broken),
        "broken_precision": round(precise / len(said_broken), 3) if said_broken else None,
        "broken_recall": round(precise / len(truly_broken), 3) if truly_broken else None,
        "brier_all": round(sum(brier) / len(brier), 4) if brier else None,
        "brier_failed": round(sum(brier_failed) / len(brier_failed), 4) if brier_failed else None,
    }


def synthetic_nights(sizes: Sizes, shape: Shape, start: float) -> Iterator[list[Observation]]:
    """A night's original results at a time, each test (and data set) at the test's true
    rate (no server)."""
    sim = Simulator(nightly_config(sizes))
    rates = list(sim.true_rates(0).items())
    names = sim.night_tests()
    rng = random.Random(17)
    run_id = 10**6
    sets: list[str | None] = [None, *(f"set_{k + 1}" for k in range(shape.iterations))]
    for night in range(shape.nights):
        at = start + night * DAY
        found = []
        for machine in range(shape.machines):
            for number, (test, rate) in enumerate(rates):
                run = run_id + number // sizes.tests
                for set_name in sets:
                    failed = rng.random() < rate
                    found.append(
                        Observation(
                            test_case_id=test,
                            test_case_name=names[test],
                            plan_id=1000 + number // sizes.tests,
                            machine=f"machine {machine + 1}",
                            set_name=set_name,
                            target=run,
                            run_id=run,
                            result="FAILURE" if failed else "SUCCESS",
                            seen=Seen.FAIL if failed else Seen.PASS,
                            at=at,
                            night=_night(at),
                        )
                    )
            run_id += sizes.plans
        yield found


def flaky_timing(sizes: Sizes, shape: Shape) -> dict[str, Any]:
    """A ledger of ``shape`` on SQLite, up to last night, then ``rerunorch flaky --json`` on
    it: over every night, and ``--since 30d``."""
    start = time.time() - shape.nights * DAY
    with tempfile.TemporaryDirectory(prefix="rerunorch-ledger-") as folder:
        path = f"{folder}/history.sqlite"
        began = time.perf_counter()
        with LedgerStore.open(path) as store:
            nights = synthetic_nights(sizes, shape, start)
            recorded = sum(store.record(night) for night in nights)
            tallies = len(store.tallies(since="0"))
        record_seconds = time.perf_counter() - began
        every, shown = _flaky_command(folder, "--history", path, "--json")
        month, _ = _flaky_command(folder, "--history", path, "--json", "--since", "30d")
        began = time.perf_counter()
        with LedgerStore.open(path) as store:
            recent = store.tallies(since=_night(time.time() - 30 * DAY))
        read_month = time.perf_counter() - began
    return {
        "ledger": shape.name,
        "observations": recorded,
        "tallies": tallies,
        "tests_shown": shown,
        "record_seconds": round(record_seconds, 1),
        "command_seconds": round(every, 2),
        "command_30d_seconds": round(month, 2),
        "tallies_30d": len(recent),
        "read_30d_seconds": round(read_month, 2),
    }


def _flaky_command(folder: str, *args: str) -> tuple[float, int]:
    """Wall seconds of one ``rerunorch flaky`` process (start-up included), tests shown."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "rerunorch", "flaky", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=_LIMIT,
        check=True,
    )
    return time.perf_counter() - began, len(json.loads(done.stdout)["tests"])


def _night(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d")


async def ledger(*, quick: bool) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    rows = []
    with tempfile.TemporaryDirectory(prefix="rerunorch-ledger-") as folder:
        seasons = {
            "without": await season(sizes, folder, history=False),
            "with": await season(sizes, folder, history=True),
        }
    for name, kept in seasons.items():
        rows.append(
            emit(
                "ledger",
                part=f"{name}-history",
                nights=sizes.nights,
                tests=sizes.plans * sizes.tests,
                observations=kept.observations,
                **figures(kept.flakes, kept.truth),
                executions_per_night=round(sum(kept.executions) / sizes.nights, 1),
                executions_last_10_nights=round(
                    sum(kept.executions[-10:]) / min(10, sizes.nights), 1
                ),
                brier_sweeps=round(sum(kept.brier) / max(1, len(kept.brier)), 4),
                flaky_failing=kept.flaky_failing,
                flaky_proven=round(kept.flaky_proven / max(1, kept.flaky_failing), 3),
                wall_seconds=round(kept.wall, 1),
            )
        )
    plain, fed = seasons["without"], seasons["with"]
    rows.append(
        emit(
            "ledger",
            part="history-saves",
            executions_ratio=round(sum(fed.executions) / max(1, sum(plain.executions)), 3),
            flaky_proven_without=round(plain.flaky_proven / max(1, plain.flaky_failing), 3),
            flaky_proven_with=round(fed.flaky_proven / max(1, fed.flaky_failing), 3),
            goal="executions_ratio <= 0.5 at no loss of flaky_proven; with-history: coverage "
            ">= 0.88, broken_precision >= 0.95, brier <= 0.05",
        )
    )
    for shape in sizes.ledgers:
        timing = flaky_timing(sizes, shape)
        rows.append(emit("ledger", part="flaky-command", **timing, goal="under 1 s"))
    return rows
