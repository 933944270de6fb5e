"""Rerun rounds against the simulator over real sockets: verdicts, bounds, exactly-once."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from test_cli_resume import environment, read_lines, sweep_command

from rerunorch import OutcomeKind, Sweep, SweepSettings
from rerunorch.api.models import TestCaseResultRequest
from rerunorch.clock import Clock
from rerunorch.outcome import Outcome
from rerunorch.report.model import SweepReport
from rerunorch.strategies.base import Decision, DecisionContext
from rerunorch.strategies.builtin import FailedTests
from rerunorch.testing import Simulator
from rerunorch.verdicts import BetaPrior, Bound, RoundContext, Verdict

# Every flaky test has its own failure rate, drawn from the size-biased Beta(2, 4).
ROUNDS = {"flaky_rate": (2.0, 4.0), "data_driven_fraction": 0.0, "passed_targets": 0}


async def sweep(sim: Simulator, clock: Clock, **settings: object) -> SweepReport:
    return await Sweep(
        sim.target_ids,
        SweepSettings(base_url=sim.base_url, **settings),  # type: ignore[arg-type]
        api_key=sim.api_key,
        clock=clock,
    ).run()


def verdicts_of(outcome: Outcome) -> dict[int, Verdict]:
    return {t.test_case_id: t.verdict for t in outcome.tests if t.test_case_id is not None}


def assert_exactly_once(sim: Simulator, report: SweepReport, max_rounds: int) -> None:
    assert sim.stats.duplicate_rerun_attempts == 0
    for outcome in report.results:
        chain = sim.reruns_of(outcome.target)
        assert len(chain) == outcome.rounds <= min(max_rounds, 10)


# Flaky tests that rarely fail (Beta(1, 19): 8 failures in a row are a one-in-a-million
# draw), so that every broken label here must be right; how often a realistic population
# is mislabeled is the `verdicts` benchmark's question, not a test's.
@pytest.mark.simulator(targets=30, **{**ROUNDS, "flaky_rate": (1.0, 19.0)})
async def test_flaky_tests_are_proven_flaky_and_broken_ones_broken(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=10)
    assert_exactly_once(simulator, report, 10)
    seen = {verdict: 0 for verdict in Verdict}
    for outcome in report.results:
        rates = simulator.fail_rates(outcome.target)
        for test in outcome.tests:
            rate = rates[test.test_case_id]  # type: ignore[index]
            seen[test.verdict] += 1
            if test.verdict is Verdict.FLAKY:
                assert 0 < rate < 1, test  # a pass next to a failure: truly flaky
                assert test.failures >= 1 or test.runs < len(test.run_ids)  # failed or not run
            elif test.verdict is Verdict.BROKEN:
                assert rate == 1, test
                assert test.failures == test.runs >= 9
                assert test.p_broken is not None
                assert test.p_broken >= 0.95
            elif test.verdict is Verdict.PASSED:
                assert rate == 0
            if rate == 1 and test.verdict is not Verdict.NOT_RUN:
                assert test.verdict is Verdict.BROKEN, test  # 8 failed reruns decide it
        assert outcome.flaky == tuple(
            t
            for t in outcome.flaky
            if verdicts_of(outcome)[t.test_case_id] is Verdict.FLAKY  # type: ignore[index]
        )
    assert seen[Verdict.FLAKY] > 0
    assert seen[Verdict.BROKEN] > 0
    assert seen[Verdict.UNDECIDED] == 0  # nothing hit a bound
    assert report.summary.broken_tests == seen[Verdict.BROKEN]
    assert report.summary.rounds == sum(o.rounds for o in report.results)
    assert report.summary.rounds > len(report.results)  # rounds went beyond the first


@pytest.mark.simulator(targets=30, **ROUNDS)
async def test_later_rounds_rerun_exactly_the_undecided_tests_of_the_newest_run(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=4)
    checked = 0
    for outcome in report.results:
        runs = [outcome.target, *simulator.reruns_of(outcome.target)]
        for older, parent, child in zip(runs, runs[1:], runs[2:], strict=False):
            before = simulator.cases(parent)
            after = {c["testCaseId"] for c in simulator.cases(child)}
            stuck = _not_run(simulator, older) & _not_run(simulator, parent)
            undecided = {c["testCaseId"] for c in before if c["result"] != "SUCCESS"} - stuck
            assert after == undecided, (parent, child)
            checked += 1
    assert checked > 0


@pytest.mark.simulator(targets=20, **ROUNDS)
async def test_max_rounds_leaves_broken_tests_undecided_with_the_posterior(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=3)
    assert_exactly_once(simulator, report, 3)
    undecided = [t for o in report.results for t in o.tests if t.verdict is Verdict.UNDECIDED]
    assert undecided
    for test in undecided:
        assert test.bound is Bound.MAX_ROUNDS
        assert test.failures == test.runs
        assert test.p_broken == pytest.approx(BetaPrior().p_broken(test.failures - 1), abs=1e-4)
    assert not any(t.verdict is Verdict.BROKEN for o in report.results for t in o.tests)
    assert report.exit_code == 1  # undecided fails by default
    report.fail_on = ("flaky",)
    assert report.exit_code == (1 if report.summary.flaky_tests else 0)


@pytest.mark.simulator(targets=10, **ROUNDS)
async def test_the_ten_rerun_cap_ends_the_rounds(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    # A threshold no failing streak within 10 reruns reaches: only the cap stops them.
    report = await sweep(simulator, simulator_clock, max_rounds=50, threshold=0.999)
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert report.summary.errors == 0
    capped = [t for o in report.results for t in o.tests if t.bound is Bound.RERUN_CAP]
    assert capped
    for outcome in report.results:
        assert len(simulator.reruns_of(outcome.target)) <= 10
        assert outcome.outcome in (OutcomeKind.PASSED, OutcomeKind.FAILED)


@pytest.mark.simulator(targets=10, **ROUNDS)
async def test_a_chain_at_the_cap_is_not_rerun_again(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    first = await sweep(simulator, simulator_clock, max_rounds=50, threshold=0.999)
    at_cap = {o.target for o in first.results if len(simulator.reruns_of(o.target)) == 10}
    created = simulator.stats.reruns_created
    again = await sweep(simulator, simulator_clock, max_rounds=3, threshold=0.999)
    assert again.summary.errors == 0
    # Chains whose every test stopped running (aborted twice) ended before the cap; a new
    # sweep may rerun those. A chain at the cap is never rerun again.
    capped = [o for o in again.results if o.target in at_cap]
    assert capped
    for outcome in again.results:
        assert len(simulator.reruns_of(outcome.target)) <= 10
    assert simulator.stats.reruns_created - created == sum(
        o.rounds for o in again.results if o.target not in at_cap
    )
    bounds = set()
    for outcome in capped:
        assert outcome.rounds == 0
        assert len(simulator.reruns_of(outcome.target)) == 10
        bounds |= {t.bound for t in outcome.tests if t.verdict is Verdict.UNDECIDED}
    assert bounds == {Bound.RERUN_CAP}


class Quarantine:
    """``failed``, but never reruns the ``held`` tests after round 1; ``stop``: no later round."""

    name = "quarantine"

    def __init__(self, held: set[int | None], *, stop: bool = False) -> None:
        self.held, self.stop = held, stop
        self.rounds_seen: set[int] = set()

    async def decide(self, ctx: DecisionContext) -> Decision:
        return await FailedTests().decide(ctx)

    async def next_round(self, ctx: RoundContext) -> tuple[TestCaseResultRequest, ...]:
        self.rounds_seen.add(ctx.round)
        assert set(ctx.picked) == {p.id for p in ctx.picks}
        if self.stop:
            return ()
        return tuple(p for p in ctx.picks if ctx.picked[p.id].test_case_id not in self.held)


@pytest.mark.simulator(targets=20, **ROUNDS)
async def test_a_strategy_narrows_or_ends_later_rounds(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    first = await sweep(simulator, simulator_clock, max_rounds=1)
    broken = {
        t.test_case_id for o in first.results for t in o.tests if t.verdict is Verdict.UNDECIDED
    }
    assert broken
    held = set(sorted(broken)[: len(broken) // 2])  # type: ignore[type-var]
    strategy = Quarantine(held)
    report = await Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, max_rounds=4),
        api_key=simulator.api_key,
        clock=simulator_clock,
        strategy=strategy,
    ).run()
    assert strategy.rounds_seen == {2, 3, 4}
    for outcome in report.results:
        for test in outcome.tests:
            if test.test_case_id in held:
                # The original, the first sweep's rerun and round 1 of this one: no more.
                assert len(test.run_ids) <= 3
                assert test.verdict is not Verdict.UNDECIDED or test.bound is Bound.STRATEGY


@pytest.mark.simulator(targets=10, **ROUNDS)
async def test_a_strategy_that_answers_nothing_ends_the_rounds(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    strategy = Quarantine(set(), stop=True)
    report = await Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, max_rounds=5),
        api_key=simulator.api_key,
        clock=simulator_clock,
        strategy=strategy,
    ).run()
    assert strategy.rounds_seen == {2}
    assert all(o.rounds == 1 for o in report.results)
    bounds = {t.bound for o in report.results for t in o.tests if t.verdict is Verdict.UNDECIDED}
    assert bounds == {Bound.STRATEGY}


@pytest.mark.simulator(targets=20, **ROUNDS)
async def test_a_budget_ends_the_rounds(simulator: Simulator, simulator_clock: Clock) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=10, budget=1.0)
    assert_exactly_once(simulator, report, 10)
    bounds = {t.bound for o in report.results for t in o.tests}
    assert Bound.BUDGET in bounds
    assert all(o.rounds <= 2 for o in report.results)  # round 1 always; round 2 fits 1 s once


@pytest.mark.simulator(targets=10, **ROUNDS)
async def test_a_deadline_passed_starts_no_new_round(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=10, deadline=time.time() - 1)
    assert_exactly_once(simulator, report, 1)
    assert Bound.DEADLINE in {t.bound for o in report.results for t in o.tests}


# Rounds of 100 s or more on a clock 1000 times faster than the wall: the sweep's clock is
# past `now + 50 s` after its first round, the time of day is not (the sweep takes < 1 s).
@pytest.mark.simulator(targets=10, run_duration=(100.0, 200.0), **ROUNDS)
async def test_the_deadline_is_a_time_of_day_not_the_sweeps_scaled_clock(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    deadline = time.time() + 50
    report = await sweep(simulator, simulator_clock, max_rounds=3, deadline=deadline)
    assert simulator_clock.time() > deadline  # the scaled clock passed it; the wall did not
    assert_exactly_once(simulator, report, 3)
    assert Bound.DEADLINE not in {t.bound for o in report.results for t in o.tests}
    assert max(o.rounds for o in report.results) > 1


@pytest.mark.simulator(targets=120, run_duration=(200.0, 400.0), **ROUNDS)
async def test_killed_mid_rounds_and_resumed_triggers_nothing_twice(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(map(str, simulator.target_ids)) + "\n")
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.json"
    rng = random.Random(16)
    env = environment(simulator)
    mid_round: dict[int, int] = {}
    for kill in range(4):
        extra = ["--resume"] if kill else []
        command = sweep_command(simulator, targets, journal, "--max-rounds", "5", *extra)
        async with await anyio.open_process(command, env=env) as process:
            await read_lines(process, rng.randint(60, 200))
            process.send_signal(signal.SIGKILL)
            await process.wait()
        with sqlite3.connect(journal) as conn:
            rows = conn.execute("SELECT round FROM targets WHERE state != 'done'").fetchall()
        mid_round[kill] = max((r for (r,) in rows), default=0)
    assert max(mid_round.values()) >= 2, mid_round  # some kill came in round 2 or later
    final = await anyio.run_process(
        sweep_command(
            simulator, targets, journal, "--max-rounds", "5", "--resume", "--report", str(report)
        ),
        env=env,
        check=False,
    )
    assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
    assert simulator.stats.duplicate_rerun_attempts == 0
    data = json.loads(report.read_text())
    assert data["schema"] == 2
    assert data["summary"]["interrupted"] == data["summary"]["errors"] == 0
    assert max(r["rounds"] for r in data["results"]) >= 2
    for result in data["results"]:
        assert len(simulator.reruns_of(result["target"])) <= 5
        for test in result["tests"]:
            if test["verdict"] == "undecided":
                assert test["bound"] == "max_rounds"


async def test_the_journal_records_each_rounds_number_and_upgrades_schema_2(
    tmp_path: Path,
) -> None:
    from test_journal import SETTINGS, _old_journal

    from rerunorch.journal import Journal, JournalEntry, State

    path = tmp_path / "j.sqlite"
    _old_journal(path, version=2)
    journal = Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    assert journal.entry(1) == JournalEntry(State.TRIGGERING, 10, None, False, 1)
    async with journal.running():
        await journal.triggered(1, 10, 11, adopted=False, round=1)
        await journal.triggering(1, 11, round=2)
    journal.close(finished=False)
    again = Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    # Round 2 is about to rerun 11: the rerun of round 1 is no longer the one to follow.
    assert again.entry(1) == JournalEntry(State.TRIGGERING, 11, None, False, 2)
    again.close(finished=False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_rounds", 0),
        ("max_rounds", 2.5),
        ("budget", float("nan")),
        ("deadline", float("inf")),
        ("round_delay", -1.0),
        ("round_delay", float("nan")),
        ("threshold", 1.0),
        ("threshold", float("nan")),
        ("broken_share", 0.0),
        ("flaky_alpha", float("nan")),
        ("fail_on", ("broken", "sometimes")),
        ("fail_on", "broken"),
    ],
)
def test_rounds_settings_are_checked(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SweepSettings(**{field: value})  # type: ignore[arg-type]


def test_the_cli_reads_rounds_options() -> None:
    from click.testing import CliRunner

    from rerunorch.cli.rounds import Duration, FailOn, TimeOfDay

    assert Duration().convert("90m", None, None) == 5400
    assert FailOn().convert("broken, flaky", None, None) == ("broken", "flaky")
    at = TimeOfDay(now=lambda: 1_000_000.0).convert("07:00", None, None)
    assert 1_000_000.0 < at <= 1_000_000.0 + 86400
    assert TimeOfDay().convert("2026-12-04T07:00:00+00:00", None, None) == 1796367600.0
    from rerunorch.cli import cli

    result = CliRunner().invoke(cli, ["sweep", "1", "--fail-on", "maybe"])
    assert result.exit_code == 2
    assert "maybe: choose from broken, undecided, flaky" in result.output


@pytest.mark.simulator(
    targets=40, ambiguous_fault_rate=0.2, ambiguous_mode="mixed", fault_503_rate=0.05, **ROUNDS
)
async def test_ambiguous_answers_in_later_rounds_are_adopted_not_repeated(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=6)
    assert simulator.stats.ambiguous_faults > 0
    assert report.summary.errors == 0
    assert_exactly_once(simulator, report, 6)
    assert any(o.rounds >= 3 for o in report.results)


@pytest.mark.simulator(
    targets=20, flaky_rate=(2.0, 4.0), data_driven_fraction=1.0, passed_targets=0
)
async def test_data_driven_rounds_rerun_exactly_the_undecided_iterations(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await sweep(simulator, simulator_clock, max_rounds=5)
    assert_exactly_once(simulator, report, 5)
    checked = 0
    for outcome in report.results:
        runs = [outcome.target, *simulator.reruns_of(outcome.target)]
        for older, parent, child in zip(runs, runs[1:], runs[2:], strict=False):
            before = {c["testCaseId"]: c for c in simulator.cases(parent)}
            earlier = {c["testCaseId"]: c for c in simulator.cases(older)}
            for case in simulator.cases(child):
                old = before[case["testCaseId"]]
                failed = {i["setName"] for i in old["iterationResults"] if i["result"] != "SUCCESS"}
                stuck = _sets_not_run(old) & _sets_not_run(earlier.get(case["testCaseId"]))
                assert {i["setName"] for i in case["iterationResults"]} == failed - stuck
                checked += 1
        for test in outcome.tests:
            assert test.iterations
            for iteration in test.iterations:
                assert iteration.verdict is not Verdict.BROKEN or iteration.failures >= 9
    assert checked > 0
    assert any(
        it.verdict is Verdict.FLAKY for o in report.results for t in o.tests for it in t.iterations
    )


def test_the_verdicts_benchmark_runs_its_three_policies() -> None:
    from test_benchmarks_smoke import run_quick

    rows = {row["policy"]: row for row in run_quick("verdicts")}
    assert set(rows) == {"one-rerun", "until-pass-3", "adaptive"}
    for row in rows.values():
        assert row["duplicates"] == 0
        assert row["broken_labeled_flaky"] == 0  # a broken test never passes
    assert rows["adaptive"]["flaky_proven"] >= rows["until-pass-3"]["flaky_proven"]  # type: ignore[operator]


_NOT_RUN = {"ABORTED", "NOT_EXECUTED", "STOPPED"}


def _not_run(simulator: Simulator, run_id: int) -> set[int]:
    """The test cases ``run_id`` included but did not run."""
    return {c["testCaseId"] for c in simulator.cases(run_id) if c["result"] in _NOT_RUN}


def _sets_not_run(case: Mapping[str, Any] | None) -> set[str]:
    """The data sets of ``case`` that its run did not run."""
    if case is None:
        return set()
    return {i["setName"] for i in case["iterationResults"] if i["result"] in _NOT_RUN}
