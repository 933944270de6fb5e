"""The ledger in a sweep: two nights against the simulator, the second fed by the first.

Each night's failed runs are swept (rounds until each test has a verdict) with the ledger's
history of the nights before, and recorded; then ``rerunorch flaky`` shows both nights.
The same on SQLite and on a real PostgreSQL server (``ledger_url``, tests/postgres_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rerunorch.cli import cli
from rerunorch.cli.recording import LedgerListener
from rerunorch.clock import ScaledClock
from rerunorch.engine import Sweep
from rerunorch.ledger.advice import SweepHistory
from rerunorch.ledger.model import FlakeModel
from rerunorch.ledger.overrides import Overrides
from rerunorch.ledger.recorder import Recorder
from rerunorch.ledger.store import LedgerStore
from rerunorch.report.model import SweepReport
from rerunorch.settings import SweepSettings
from rerunorch.testing import NightlyConfig, Outage, Simulator, SimulatorConfig
from rerunorch.verdicts import Verdict

DAY = 86400.0


class NightClock(ScaledClock):
    """A scaled clock that can jump a day between two nights (nobody sleeps across it)."""

    def __init__(self, scale: float) -> None:
        super().__init__(scale)
        self.jumped = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.jumped


def nights_config(**kw: Any) -> SimulatorConfig:
    nightly = {
        "plans": 2,
        "tests": 12,
        "nights": 1,
        "flaky_fraction": 0.25,
        "broken_fraction": 0.17,
        "flaky_rate": (2.0, 6.0),
        **kw,
    }
    return SimulatorConfig(seed=5, run_duration=(20.0, 60.0), nightly=NightlyConfig(**nightly))


async def sweep_night(
    sim: Simulator, clock: NightClock, url: str, *, model: FlakeModel | None = None
) -> tuple[SweepReport, SweepHistory]:
    """One night: read the history, sweep the night's runs, record what they showed."""
    with LedgerStore.open(url) as store:
        history = SweepHistory.of(store.tallies(), now=clock.time(), model=model)
        listener = LedgerListener(Recorder(store))
        settings = SweepSettings(base_url=sim.base_url, max_rounds=8, concurrency=8)
        sweep = Sweep(
            sim.night_runs(),
            settings,
            api_key=sim.api_key,
            clock=clock,
            history=history,
            listener=listener,
        )
        report = await sweep.run()
    return report, history


def runs_of(report: SweepReport, tests: Sequence[int]) -> dict[int, int]:
    """How many runs (original and reruns) each of ``tests`` had in the night, summed."""
    found: dict[int, int] = {}
    for outcome in report.results:
        for test in outcome.tests:
            if test.test_case_id in tests:
                key = test.test_case_id
                found[key] = found.get(key, 0) + len(test.run_ids)
    return found


def flaky_json(url: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["flaky", "--json", "--all", "--history", url])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


async def test_two_nights_the_second_uses_the_firsts_history(ledger_url: str) -> None:
    clock = NightClock(2000.0)
    async with Simulator(nights_config(), clock=clock) as sim:
        broken = [t for t, rate in sim.true_rates().items() if rate >= 1]
        assert broken  # the seed gives some
        first, before = await sweep_night(sim, clock, ledger_url)
        assert before.flakes == {}  # nothing known on the first night
        clock.jumped += DAY
        sim.new_night()
        second, history = await sweep_night(sim, clock, ledger_url)

    # The second night read the first: each test it ran has a history, and the broken
    # ones start near P(broken) = 1, so they are decided with fewer reruns.
    assert set(history.flakes) >= set(sim.night_tests())
    night1, night2 = runs_of(first, broken), runs_of(second, broken)
    assert night1
    assert set(night2) == set(night1)
    assert sum(night2.values()) < sum(night1.values())
    for outcome in second.results:
        assert all(t.verdict is not Verdict.UNDECIDED for t in outcome.tests)

    shown = flaky_json(ledger_url)
    assert shown["schema"] == 1
    by_id = {t["testCaseId"]: t for t in shown["tests"]}
    assert set(by_id) == set(sim.night_tests())
    assert {t["nights"] for t in shown["tests"]} == {2}  # both nights, every test
    for test in broken:
        assert by_id[test]["status"] == "broken"
        low, high = by_id[test]["interval"]
        assert low <= by_id[test]["rate"] <= high
    assert set(shown["tests"][0]) == {
        "testCaseId",
        "testCaseName",
        "plan",
        "status",
        "runs",
        "failures",
        "rate",
        "interval",
        "nights",
        "last_seen",
        "quarantined",
    }


async def test_broken_for_nights_is_not_rerun_and_still_fails_the_sweep(tmp_path: Path) -> None:
    url = str(tmp_path / "history.sqlite")
    model = FlakeModel(broken_nights=1)
    clock = NightClock(2000.0)
    async with Simulator(nights_config(), clock=clock) as sim:
        broken = {t for t, rate in sim.true_rates().items() if rate >= 1}
        await sweep_night(sim, clock, url, model=model)
        clock.jumped += DAY
        sim.new_night()
        second, _ = await sweep_night(sim, clock, url, model=model)
    seen = set()
    for outcome in second.results:
        for test in outcome.tests:
            if test.test_case_id in broken:
                seen.add(test.test_case_id)
                assert test.verdict is Verdict.BROKEN
                assert len(test.run_ids) == 1  # the night's own failure: no rerun
    assert seen == broken
    assert second.exit_code == 1  # known broken still fails the night


async def test_quarantined_failures_do_not_fail_the_exit_code(tmp_path: Path) -> None:
    url = str(tmp_path / "history.sqlite")
    clock = NightClock(2000.0)
    config = nights_config(broken_fraction=0.0, flaky_fraction=0.2, plans=1)
    async with Simulator(config, clock=clock) as sim:
        await sweep_night(sim, clock, url)
        clock.jumped += DAY
        sim.new_night()
        everyone = Overrides(quarantine={t: "by hand: test" for t in sim.night_tests()})
        with LedgerStore.open(url) as store:
            history = SweepHistory.of(store.tallies(), now=clock.time(), overrides=everyone)
        settings = SweepSettings(base_url=sim.base_url, max_rounds=1, fail_on=("flaky",))
        report = await Sweep(
            sim.night_runs(), settings, api_key=sim.api_key, clock=clock, history=history
        ).run()
    assert report.summary.quarantined_tests > 0
    assert report.summary.flaky_tests == report.summary.failing_tests == 0
    assert report.exit_code == 0
    data = report.to_json()
    listed = [t for r in data["results"] for t in r.get("quarantined", [])]
    assert len(listed) == report.summary.quarantined_tests


async def test_an_outage_night_is_no_flake_evidence(tmp_path: Path) -> None:
    url = str(tmp_path / "history.sqlite")
    clock = NightClock(2000.0)
    config = nights_config(
        broken_fraction=0.0, flaky_fraction=0.0, outages=(Outage(night=1, plan=0, share=1.0),)
    )
    async with Simulator(config, clock=clock) as sim:
        await sweep_night(sim, clock, url)
        clock.jumped += DAY
        sim.new_night()
        assert sim.outage_runs()
        await sweep_night(sim, clock, url)
    shown = flaky_json(url)
    assert all(t["failures"] == 0 for t in shown["tests"])  # every failure was the outage's
