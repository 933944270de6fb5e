"""The ``rerunorch_next_round`` hook: plugins decide later rounds after the strategy, against
the simulator over real sockets; a failing hook never breaks the sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sim_server import SCALE, serve

from rerunorch import Sweep, SweepSettings, hookimpl
from rerunorch.api.models import TestCaseResultRequest
from rerunorch.cli import cli
from rerunorch.clock import Clock
from rerunorch.plugins import PluginManager
from rerunorch.report.model import SweepReport
from rerunorch.strategies.base import Decision, DecisionContext, Strategy
from rerunorch.strategies.builtin import FailedTests
from rerunorch.testing import Simulator
from rerunorch.verdicts import Bound, RoundContext, Verdict

ROUNDS = {"flaky_rate": (2.0, 4.0), "data_driven_fraction": 0.0, "passed_targets": 0}
pytestmark = pytest.mark.simulator(targets=12, **ROUNDS)


async def sweep_with(
    sim: Simulator, clock: Clock, *plugins: object, strategy: Strategy | None = None
) -> SweepReport:
    manager = PluginManager(strict=True)
    for n, plugin in enumerate(plugins):
        manager.register(plugin, name=f"plugin{n}")
    relay = manager.listener()
    return await Sweep(
        sim.target_ids,
        SweepSettings(base_url=sim.base_url, max_rounds=4),
        api_key=sim.api_key,
        strategy=relay.with_rounds(strategy or FailedTests()),
        listener=relay,
        clock=clock,
    ).run()


def rerun_test_ids(sim: Simulator, target: int) -> list[set[int]]:
    """Each rerun of the target's chain: the test case ids it ran."""
    return [{c["testCaseId"] for c in sim.cases(run)} for run in sim.reruns_of(target)]


class StopsEarly:
    def __init__(self) -> None:
        self.asked: list[int] = []

    @hookimpl
    async def rerunorch_next_round(self, ctx: RoundContext) -> tuple[TestCaseResultRequest, ...]:
        self.asked.append(ctx.round)
        return ()


async def test_an_async_hook_ends_the_rounds_and_names_the_bound(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    plugin = StopsEarly()
    report = await sweep_with(simulator, simulator_clock, plugin)
    assert plugin.asked
    assert set(plugin.asked) == {2}
    assert all(o.rounds == 1 for o in report.results)
    assert all(len(simulator.reruns_of(o.target)) == 1 for o in report.results)
    undecided = [t for o in report.results for t in o.tests if t.verdict is Verdict.UNDECIDED]
    assert undecided
    assert {t.bound for t in undecided} == {Bound.STRATEGY}
    assert simulator.stats.duplicate_rerun_attempts == 0


class HoldsOneTest:
    """Keeps the first test it is asked about out of later rounds; answers sync."""

    def __init__(self) -> None:
        self.held: dict[int, int] = {}  # target -> test case id
        self.saw: list[RoundContext] = []

    @hookimpl
    def rerunorch_next_round(self, ctx: RoundContext) -> list[TestCaseResultRequest]:
        self.saw.append(ctx)
        assert set(ctx.picked) == {p.id for p in ctx.picks}
        if ctx.target not in self.held:
            self.held[ctx.target] = next(iter(ctx.picked.values())).test_case_id or 0
        held = self.held[ctx.target]
        foreign = TestCaseResultRequest(id=10**9)  # not a pick: a hook cannot widen a round
        return [p for p in ctx.picks if ctx.picked[p.id].test_case_id != held] + [foreign]


class Fails:
    @hookimpl
    def rerunorch_next_round(self) -> None:
        raise RuntimeError("the quarantine service is down")


class AnswersNonsense:
    @hookimpl
    def rerunorch_next_round(self) -> object:
        return 42


async def test_a_hook_narrows_later_rounds_and_failing_ones_are_noted(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    holds = HoldsOneTest()
    report = await sweep_with(simulator, simulator_clock, holds, Fails(), AnswersNonsense())
    assert holds.held, "no target reached a second round"
    for target, held in holds.held.items():
        first, *later = rerun_test_ids(simulator, target)
        assert held in first  # round 1 is the strategy's
        assert later == [] or all(held not in ran for ran in later)
        outcome = next(o for o in report.results if o.target == target)
        verdict = next(t for t in outcome.tests if t.test_case_id == held)
        assert verdict.verdict is not Verdict.UNDECIDED or verdict.bound is Bound.STRATEGY
    assert max(o.rounds for o in report.results) > 2  # the failing hooks did not end them
    notes = "\n".join(report.notes)
    assert "failed on next_round" in notes
    assert "RuntimeError: the quarantine service is down" in notes
    assert "answered 42, not picks" in notes
    assert simulator.stats.duplicate_rerun_attempts == 0


class OwnRounds:
    """A strategy whose own next_round keeps only the first pick."""

    name = "own-rounds"

    async def decide(self, ctx: DecisionContext) -> Decision:
        return await FailedTests().decide(ctx)

    async def next_round(self, ctx: RoundContext) -> tuple[TestCaseResultRequest, ...]:
        return ctx.picks[:1]


async def test_the_hook_is_asked_after_the_strategy_on_what_it_left(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    holds = HoldsOneTest()
    await sweep_with(simulator, simulator_clock, holds, strategy=OwnRounds())
    assert holds.saw
    assert all(len(ctx.picks) == 1 for ctx in holds.saw)


def test_without_a_hook_the_strategy_is_used_as_it_is() -> None:
    strategy: Any = FailedTests()
    assert PluginManager().listener().with_rounds(strategy) is strategy
    wrapped = PluginManager()
    wrapped.register(StopsEarly(), name="stops")
    rounds = wrapped.listener().with_rounds(strategy)
    assert rounds is not strategy
    assert rounds.name == strategy.name
    assert getattr(rounds, "description", None) == strategy.description


STOP_PLUGIN = """
from rerunorch import hookimpl


@hookimpl
async def rerunorch_next_round(ctx):
    return ()
"""


def test_the_command_asks_the_hook_of_a_local_plugin(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "stop_early.py").write_text(STOP_PLUGIN)
    report = tmp_path / "report.json"
    with serve("--targets", "5", "--passed-targets", "0") as server:
        args = [
            "sweep", *map(str, server.targets()), "--base-url", server.url,
            "--time-scale", SCALE, "--poll-interval", "1", "--max-rounds", "5",
            "--plugins-dir", str(folder), "--report", str(report), "--quiet",
        ]  # fmt: skip
        env = {"TESTSIGMA_API_KEY": "sim-api-key", "RERUNORCH_PLUGINS": None}
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    results = json.loads(report.read_text())["results"]
    assert {r["rounds"] for r in results} == {1}
    undecided = [t for r in results for t in r["tests"] if t["verdict"] == "undecided"]
    assert undecided, "no test was left undecided after round 1"
    assert {t["bound"] for t in undecided} == {"strategy"}
