"""The installed plugin keeps quarantined tests out of later rounds, whatever the strategy
(hook ``rerunorch_next_round``), against rerunorch's simulator (public API only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rerunorch_quarantine import ENV_FILE

from rerunorch import Clock, PluginManager, ScaledClock, Sweep, SweepSettings, Verdict
from rerunorch.testing import Simulator

# Flaky tests fail again with their own rate (Beta(2, 4)), so that later rounds happen.
pytestmark = pytest.mark.simulator(
    targets=8, passed_targets=0, tests_per_run=(6, 6), failure_fraction=0.5,
    data_driven_fraction=0.0, flaky_rate=(2.0, 4.0),
)  # fmt: skip


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    return ScaledClock(1000)


async def test_a_quarantined_test_is_never_rerun_in_a_later_round(
    rerunorch_simulator: Simulator,
    rerunorch_simulator_clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = rerunorch_simulator
    held = set()
    for target in sim.target_ids:  # the first failed test of each run is quarantined
        held.add(next(c["testCaseId"] for c in sim.cases(target) if c["result"] != "SUCCESS"))
    file = tmp_path / "quarantine.txt"
    file.write_text("# flaky on CI\n" + "".join(f"{i}\n" for i in sorted(held)))
    monkeypatch.setenv(ENV_FILE, str(file))
    manager = PluginManager(strict=True).load(env={"RERUNORCH_PLUGINS": "rerunorch-quarantine"})
    relay = manager.listener()
    report = await Sweep(
        sim.target_ids,
        SweepSettings(base_url=sim.base_url, max_rounds=6),
        api_key=sim.api_key,
        strategy=relay.with_rounds(manager.strategies()["failed"]),  # not the quarantine one
        listener=relay,
        clock=rerunorch_simulator_clock,
    ).run()

    later_rounds = 0
    for outcome in report.results:
        first, *later = [
            {c["testCaseId"] for c in sim.cases(r)} for r in sim.reruns_of(outcome.target)
        ]
        assert first & held  # round 1 is the strategy's: `failed` reruns every failed test
        assert all(not (ran & held) for ran in later)
        later_rounds += len(later)
        for test in outcome.tests:
            if test.test_case_id in held and test.verdict is Verdict.UNDECIDED:
                assert test.bound is not None
                assert test.bound.value == "strategy"
    assert later_rounds  # other tests went on in later rounds
    assert report.notes == []
    assert sim.stats.duplicate_rerun_attempts == 0
