"""The sweep engine against the simulator over real sockets."""

from __future__ import annotations

import anyio
import pytest
from sweep_helpers import StopAfter

from rerunorch import (
    AuthError,
    Outcome,
    OutcomeKind,
    RerunFinished,
    RerunTriggered,
    Sweep,
    SweepFinished,
    SweepListener,
    SweepSettings,
    SweepStarted,
    Target,
    lifecycle,
)
from rerunorch.clock import Clock
from rerunorch.errors import ConfigError
from rerunorch.report.model import SweepReport
from rerunorch.testing import Simulator


def make_sweep(
    sim: Simulator,
    clock: Clock,
    targets: object = None,
    listener: SweepListener | tuple[SweepListener, ...] | None = None,
    **settings: object,
) -> Sweep:
    return Sweep(
        sim.target_ids if targets is None else targets,  # type: ignore[arg-type]
        SweepSettings(base_url=sim.base_url, **settings),  # type: ignore[arg-type]
        api_key=sim.api_key,
        clock=clock,
        listener=listener,
    )


def assert_classified(sim: Simulator, report: SweepReport) -> None:
    """Each rerun's flaky / still-failing tests are exactly what the simulator made them."""
    for outcome in report.results:
        if outcome.outcome not in (OutcomeKind.PASSED, OutcomeKind.FAILED):
            continue
        truth = sim.truth(outcome.target)
        assert {t.test_case_id for t in outcome.flaky} == {
            k for k, v in truth.items() if v == "flaky"
        }, outcome
        assert {t.test_case_id for t in outcome.still_failing} == {
            k for k, v in truth.items() if v == "broken"
        }, outcome
        assert (outcome.outcome is OutcomeKind.PASSED) == (not outcome.still_failing)


@pytest.mark.simulator(targets=12, passed_targets=2)
async def test_sweep_reruns_each_target_once_and_classifies(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    targets = simulator.target_ids + simulator.passed_ids
    report = await make_sweep(simulator, simulator_clock, targets).run()
    assert report.summary.targets == 14
    assert report.summary.skipped == 2
    assert report.summary.triggered == 12
    assert simulator.stats.reruns_created == 12
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert {o.target for o in report.results} == set(targets)
    assert report.summary.requests == simulator.stats.requests
    assert_classified(simulator, report)
    for target in simulator.target_ids:
        assert len(simulator.reruns_of(target)) == 1


@pytest.mark.simulator(
    seed=7,
    targets=1000,
    passed_targets=0,
    fault_503_rate=0.10,
    ambiguous_fault_rate=0.05,
    ambiguous_mode="mixed",
    rate_limit=400.0,
    rate_burst=40,
)
async def test_thousand_targets_under_faults_rerun_exactly_once(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await make_sweep(simulator, simulator_clock, concurrency=16).run()
    stats = simulator.stats
    assert stats.reruns_created == 1000
    assert stats.duplicate_rerun_attempts == 0
    assert stats.ambiguous_faults > 0
    assert stats.faults_503 > 0
    assert report.summary.targets == 1000
    assert sorted(o.target for o in report.results) == sorted(simulator.target_ids)
    assert report.summary.errors == 0
    assert_classified(simulator, report)


@pytest.mark.simulator(targets=50)
async def test_a_wrong_key_stops_the_sweep_at_once(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, concurrency=4),
        api_key="not-the-key",
        clock=simulator_clock,
    )
    with pytest.raises(AuthError):
        await sweep.run()
    assert simulator.stats.unauthorized <= 4
    assert simulator.stats.requests <= 4
    assert "not-the-key" not in str(sweep.report.notes)


@pytest.mark.simulator(targets=6, run_duration=(300.0, 300.0))
async def test_a_running_rerun_from_an_earlier_sweep_is_adopted(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    first = await make_sweep(simulator, simulator_clock, wait=False).run()
    second = await make_sweep(simulator, simulator_clock).run()
    assert simulator.stats.reruns_created == 6
    assert simulator.stats.duplicate_rerun_attempts == 0
    triggered = {o.target: o.rerun_id for o in first.results}
    for outcome in second.results:
        assert outcome.adopted
        assert outcome.rerun_id == triggered[outcome.target]
    assert_classified(simulator, second)


@pytest.mark.simulator(targets=20)
async def test_racing_sweeps_adopt_the_rerun_the_other_created(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    one, two = make_sweep(simulator, simulator_clock), make_sweep(simulator, simulator_clock)
    reports: list[SweepReport] = []

    async def run(sweep: Sweep) -> None:
        reports.append(await sweep.run())

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, one)
        tg.start_soon(run, two)
    assert simulator.stats.reruns_created == 20
    ids = [{o.target: o.rerun_id for o in report.results} for report in reports]
    assert ids[0] == ids[1]
    assert all(report.summary.errors == 0 for report in reports)


@pytest.mark.simulator(targets=6, auto_rerun=True, auto_rerun_delay=0.0)
async def test_auto_reruns_are_followed_to_the_chain_head(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await make_sweep(simulator, simulator_clock).run()
    assert simulator.stats.duplicate_rerun_attempts == 0
    for outcome in report.results:
        auto = simulator.reruns_of(outcome.target)[0]
        if outcome.adopted:  # still running when the sweep read it
            assert outcome.rerun_id == auto
        elif simulator.run(auto)["result"] == "SUCCESS":
            assert outcome.outcome is OutcomeKind.SKIPPED
            assert outcome.reason == f"already passed in rerun {auto}"
        else:
            assert outcome.rerun_id == simulator.reruns_of(outcome.target)[1]


@pytest.mark.simulator(targets=8, flaky_probability=0.5)
async def test_a_second_sweep_reruns_the_chain_head(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    first = await make_sweep(simulator, simulator_clock).run()
    second = await make_sweep(simulator, simulator_clock).run()
    for before, after in zip(
        sorted(first.results, key=lambda o: o.target),
        sorted(second.results, key=lambda o: o.target),
        strict=True,
    ):
        chain = simulator.reruns_of(before.target)
        if before.outcome is OutcomeKind.PASSED:
            assert after.outcome is OutcomeKind.SKIPPED
            assert after.reason == f"already passed in rerun {before.rerun_id}"
            assert len(chain) == 1
        else:
            assert after.outcome is OutcomeKind.FAILED  # broken tests stay broken
            assert chain == [before.rerun_id, after.rerun_id]
    assert simulator.stats.duplicate_rerun_attempts == 0


@pytest.mark.simulator(targets=10, plan_busy_rate=0.4)
async def test_a_busy_plan_is_tried_later(simulator: Simulator, simulator_clock: Clock) -> None:
    report = await make_sweep(simulator, simulator_clock, plan_busy_wait=1.0).run()
    assert simulator.stats.reruns_created == 10
    assert report.summary.errors == 0


@pytest.mark.simulator(targets=4, run_duration=(600.0, 600.0))
async def test_a_rerun_past_its_deadline_times_out_and_can_be_stopped(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    report = await make_sweep(simulator, simulator_clock, timeout=30.0, stop_on_timeout=True).run()
    assert report.summary.timed_out == 4
    assert report.exit_code == 3
    for outcome in report.results:
        assert outcome.error is not None
        assert "stopped it on the server" in outcome.error
        assert simulator.run(outcome.rerun_id)["result"] == "STOPPED"  # type: ignore[arg-type]


@pytest.mark.simulator(targets=5)
async def test_not_found_and_bad_targets_fail_alone(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    targets = [*simulator.target_ids, 999_999_999]
    report = await make_sweep(simulator, simulator_clock, targets).run()
    errors = [o for o in report.results if o.outcome is OutcomeKind.ERROR]
    assert [o.target for o in errors] == [999_999_999]
    assert errors[0].error is not None
    assert "404" in errors[0].error
    assert report.summary.triggered == 5
    assert report.exit_code == 3


@pytest.mark.simulator(targets=6)
async def test_no_wait_and_dry_run(simulator: Simulator, simulator_clock: Clock) -> None:
    dry = await make_sweep(simulator, simulator_clock, dry_run=True).run()
    assert simulator.stats.reruns_created == 0
    assert all(o.reason and o.reason.startswith("would rerun") for o in dry.results)
    quick = await make_sweep(simulator, simulator_clock, wait=False).run()
    assert simulator.stats.reruns_created == 6
    assert {o.outcome for o in quick.results} == {OutcomeKind.TRIGGERED}
    assert quick.exit_code == 0


@pytest.mark.simulator(targets=20)
async def test_max_active_caps_reruns_running_on_the_server(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    await make_sweep(simulator, simulator_clock, max_active=3).run()
    assert simulator.stats.reruns_created == 20
    assert simulator.stats.active_runs_peak <= 3


@pytest.mark.simulator(targets=10)
async def test_outcomes_stream_as_they_end(simulator: Simulator, simulator_clock: Clock) -> None:
    sweep = make_sweep(simulator, simulator_clock)
    seen: list[Outcome] = []
    async with sweep.outcomes() as outcomes:
        async for outcome in outcomes:
            seen.append(outcome)
    assert sorted(o.target for o in seen) == sorted(simulator.target_ids)
    assert sweep.report.summary.targets == 10


@pytest.mark.simulator(targets=30, run_duration=(300.0, 300.0))
async def test_stop_triggers_nothing_new_and_interrupts_the_rest(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    stopper = StopAfter(5)
    sweep = make_sweep(simulator, simulator_clock, listener=stopper, max_active=5, grace=10.0)
    stopper.sweep = sweep
    report = await sweep.run()
    assert simulator.stats.reruns_created == 5
    assert report.summary.interrupted == report.summary.targets
    assert report.summary.triggered == 5
    assert report.exit_code == 3


@pytest.mark.simulator(targets=10, run_duration=(300.0, 300.0))
async def test_cancelling_marks_begun_targets_interrupted(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    sweep = make_sweep(simulator, simulator_clock)
    with anyio.move_on_after(0.1):  # real seconds: the reruns last 0.3 s
        await sweep.run()
    begun = sweep.report.summary.targets
    assert begun == sweep.progress.started > 0
    assert sweep.report.summary.interrupted == begun
    assert sweep.report.finished_at is not None


class Recorder(SweepListener):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def sweep_started(self, event: SweepStarted) -> None:
        self.events.append("started")

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self.events.append(f"triggered {event.target.id}")

    async def rerun_finished(self, event: RerunFinished) -> None:
        raise RuntimeError("listener bug")

    async def sweep_finished(self, event: SweepFinished) -> None:
        self.events.append("finished")


@pytest.mark.simulator(targets=3)
async def test_a_failing_listener_never_breaks_the_sweep(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    recorder = Recorder()
    sweep = make_sweep(simulator, simulator_clock, listener=(recorder, Recorder()))
    report = await sweep.run()
    assert report.summary.targets == 3
    assert recorder.events[0] == "started"
    assert recorder.events[-1] == "finished"
    assert sum(e.startswith("triggered") for e in recorder.events) == 3
    assert any("listener bug" in note for note in report.notes)


class RaisingStrategy:
    name = "raising"
    description = "raises for every target"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def decide(self, ctx: object) -> object:
        raise self.error


@pytest.mark.parametrize(
    ("error", "said", "traceback"),
    [
        # A bug (ours or a plugin's) fails its targets, not the sweep, and is logged whole.
        (RuntimeError("plugin bug"), "internal error: RuntimeError: plugin bug", True),
        # A rerunorch error (e.g. a fleet claim another worker took) is said as it is.
        (ConfigError("taken over by another worker"), "taken over by another worker", False),
    ],
)
@pytest.mark.simulator(targets=3)
async def test_a_strategy_that_raises_fails_its_targets_not_the_sweep(
    simulator: Simulator,
    simulator_clock: Clock,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    said: str,
    traceback: bool,
) -> None:
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url),
        api_key=simulator.api_key,
        clock=simulator_clock,
        strategy=RaisingStrategy(error),  # type: ignore[arg-type]
    )
    report = await sweep.run()
    assert [o.error for o in report.results] == [said] * 3
    assert any(record.exc_info for record in caplog.records) is traceback
    assert simulator.stats.reruns_created == 0


@pytest.mark.simulator(targets=2)
async def test_a_sweep_runs_once(simulator: Simulator, simulator_clock: Clock) -> None:
    sweep = make_sweep(simulator, simulator_clock, wait=False)
    await sweep.run()
    with pytest.raises(RuntimeError, match=r"already started by Sweep\.run\(\).*runs once"):
        await sweep.run()
    with pytest.raises(RuntimeError, match=r"already started by Sweep\.run\(\)"):
        async with sweep.outcomes():
            pass  # pragma: no cover - refused on entry
    assert simulator.stats.reruns_created == 2


@pytest.mark.simulator(targets=2)
async def test_run_beside_outcomes_is_refused(simulator: Simulator, simulator_clock: Clock) -> None:
    sweep = make_sweep(simulator, simulator_clock, wait=False)
    async with sweep.outcomes() as outcomes:
        with pytest.raises(RuntimeError, match=r"already started by Sweep\.outcomes\(\)"):
            await sweep.run()
        seen = [outcome async for outcome in outcomes]
    assert len(seen) == 2
    assert simulator.stats.reruns_created == 2


@pytest.mark.simulator(targets=4)
async def test_outcomes_raises_a_refused_key_unwrapped(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url),
        api_key="not-the-key",
        clock=simulator_clock,
    )

    async def read_all() -> None:
        async with sweep.outcomes() as outcomes:
            async for _ in outcomes:
                pass

    with pytest.raises(AuthError):
        await read_all()


@pytest.mark.simulator(targets=3)
async def test_a_bad_item_fails_only_itself(simulator: Simulator, simulator_clock: Clock) -> None:
    good = simulator.target_ids
    targets = [good[0], "not-an-id", good[1], -5, None, 2**63, good[2]]
    report = await make_sweep(simulator, simulator_clock, targets).run()
    assert report.summary.targets == 7
    errors = [o for o in report.results if o.outcome is OutcomeKind.ERROR]
    assert len(errors) == 4
    messages = sorted(o.error or "" for o in errors)
    assert all(m.startswith("not a target: ") for m in messages)
    assert any("'not-an-id'" in m for m in messages)
    assert any(str(2**63) in m for m in messages)
    assert {o.target for o in report.results} - {0, -5} == set(good)
    assert simulator.stats.reruns_created == 3


@pytest.mark.simulator(targets=3)
async def test_repeated_ids_are_swept_once_and_noted(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    first, second, third = simulator.target_ids
    targets = [first, first, Target(second), second, first, third]
    report = await make_sweep(simulator, simulator_clock, targets).run()
    assert sorted(o.target for o in report.results) == sorted(simulator.target_ids)
    assert simulator.stats.requests_by_endpoint["POST /api/v1/execution_results"] == 3
    assert simulator.stats.reruns_created == 3
    assert simulator.stats.duplicate_rerun_attempts == 0
    expected = f"3 repeated targets skipped: each id is swept once (repeated: {first}, {second})"
    assert expected in report.notes


@pytest.mark.simulator(targets=1, flaky_probability=0.0, run_duration=(1.0, 1.0))
async def test_a_chain_longer_than_the_walk_limit_is_not_called_a_loop(
    simulator: Simulator, simulator_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "MAX_CHAIN", 3)
    [target] = simulator.target_ids
    for _ in range(3):  # a chain of four runs: the target and three reruns
        [outcome] = (await make_sweep(simulator, simulator_clock).run()).results
        assert outcome.outcome is OutcomeKind.FAILED, outcome
    assert len(simulator.reruns_of(target)) == 3
    [outcome] = (await make_sweep(simulator, simulator_clock).run()).results
    assert outcome.outcome is OutcomeKind.ERROR
    assert outcome.error is not None
    assert f"the rerun chain of {target} is longer than 3 runs" in outcome.error
    assert "loop" not in outcome.error
    assert len(simulator.reruns_of(target)) == 3
