"""The quarantine strategy, against rerunorch's simulator (public API and fixtures only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rerunorch_quarantine import ENV_FILE, Quarantine, QuarantineList, read_quarantine

from rerunorch import (
    Clock,
    ConfigError,
    OutcomeKind,
    PluginManager,
    ScaledClock,
    Sweep,
    SweepSettings,
    TestCaseResult,
    TestsigmaClient,
)
from rerunorch.testing import Simulator

# Seeded failing runs of 6 tests, about half of them failed.
pytestmark = pytest.mark.simulator(
    targets=3, passed_targets=1, tests_per_run=(6, 6), failure_fraction=0.5
)


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    """Faster than the default: a 2-minute rerun lasts 0.12 s."""
    return ScaledClock(1000)


async def failed_tests(sim: Simulator, target: int) -> list[TestCaseResult]:
    async with TestsigmaClient(sim.api_key, sim.base_url, clock=sim.clock) as client:
        results = await client.get_test_case_results(target)
    return [t for t in results.test_cases if not t.passed]


async def sweep(sim: Simulator, clock: Clock, targets: list[int], strategy: Quarantine) -> Sweep:
    run = Sweep(
        targets,
        SweepSettings(base_url=sim.base_url),
        api_key=sim.api_key,
        strategy=strategy,
        clock=clock,
    )
    await run.run()
    return run


def test_the_file_holds_ids_and_names_with_comments() -> None:
    parsed = QuarantineList.parse("# flaky on CI\n4102\n\n  Login with SSO  \nPay #2\n12 \n")
    assert parsed.ids == {4102, 12}
    assert parsed.names == {"Login with SSO", "Pay #2"}
    assert parsed.holds(TestCaseResult(test_case_id=12))
    assert parsed.holds(TestCaseResult(test_case_id=1, test_case_name="Login with SSO "))
    assert not parsed.holds(TestCaseResult(test_case_id=1, test_case_name="Login"))


def test_a_missing_default_file_quarantines_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_FILE, raising=False)
    assert len(read_quarantine()) == 0
    (tmp_path / "quarantine.txt").write_text("7\n")
    assert read_quarantine().ids == {7}


def test_a_missing_file_named_by_the_environment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match=r"nope\.txt"):
        read_quarantine()


async def test_reruns_the_failed_tests_except_quarantined_ones(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    simulator, simulator_clock = rerunorch_simulator, rerunorch_simulator_clock
    target = simulator.target_ids[0]
    failed = await failed_tests(simulator, target)
    assert len(failed) >= 3  # seeded: one by id, one by name, at least one left
    by_id, by_name = failed[0], failed[1]
    file = tmp_path / "q.txt"
    file.write_text(f"{by_id.test_case_id}\n{by_name.test_case_name}\n")

    done = await sweep(simulator, simulator_clock, [target], Quarantine(file))

    [outcome] = list(done.report.results)
    assert outcome.outcome in (OutcomeKind.PASSED, OutcomeKind.FAILED)
    assert outcome.rerun_id is not None
    rerun = {t.test_case_id for t in (*outcome.flaky, *outcome.still_failing)}
    assert rerun == {t.test_case_id for t in failed[2:]}
    assert simulator.stats.duplicate_rerun_attempts == 0


async def test_a_run_whose_failures_are_all_quarantined_is_skipped(
    rerunorch_simulator: Simulator,
    rerunorch_simulator_clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulator, simulator_clock = rerunorch_simulator, rerunorch_simulator_clock
    quarantined, other = simulator.target_ids[:2]
    file = tmp_path / "q.txt"
    failed = await failed_tests(simulator, quarantined)
    file.write_text("".join(f"{t.test_case_id}\n" for t in failed))
    monkeypatch.setenv(ENV_FILE, str(file))

    done = await sweep(simulator, simulator_clock, [quarantined, other], Quarantine())

    outcomes = {o.target: o for o in done.report.results}
    assert outcomes[quarantined].outcome is OutcomeKind.SKIPPED
    assert outcomes[quarantined].reason == f"all {len(failed)} failed test(s) are quarantined"
    assert simulator.reruns_of(quarantined) == []
    assert outcomes[other].rerun_id is not None  # its tests are not in quarantine


async def test_a_passed_run_is_skipped(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    simulator, simulator_clock = rerunorch_simulator, rerunorch_simulator_clock
    target = simulator.passed_ids[0]
    done = await sweep(simulator, simulator_clock, [target], Quarantine(tmp_path / "none.txt"))
    [outcome] = list(done.report.results)
    assert outcome.outcome is OutcomeKind.SKIPPED
    assert outcome.reason == "already passed"


def test_installed_plugin_registers_the_strategy() -> None:
    manager = PluginManager().load(env={"RERUNORCH_PLUGINS": "rerunorch-quarantine"})
    assert isinstance(manager.strategies()["quarantine"], Quarantine)
    assert not manager.failed


def test_configure_reads_the_file_named_in_its_table_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_FILE, raising=False)
    listed = tmp_path / "q.txt"
    listed.write_text("Login flow\n")
    configured = Quarantine().configure({"file": str(listed)})
    assert len(configured.quarantined()) == 1
    listed.unlink()  # read once, at configure: the sweep no longer needs it
    assert len(configured.quarantined()) == 1
    with pytest.raises(ValueError, match="not found"):
        Quarantine().configure({"file": str(tmp_path / "missing.txt")})
    with pytest.raises(ConfigError, match=r"strategy\.quarantine: unknown key 'path'"):
        Quarantine().configure({"path": "q.txt"})
    with pytest.raises(ConfigError, match=r"strategy\.quarantine\.file must be str"):
        Quarantine().configure({"file": 3})
