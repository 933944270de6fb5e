"""The built-in strategies against the simulator: what each one reruns, or skips."""

from __future__ import annotations

import pytest

from rerunorch import OutcomeKind, Sweep, SweepSettings, Target, TestsigmaClient
from rerunorch.api.models import TestCaseResults
from rerunorch.clock import Clock
from rerunorch.testing import Simulator


async def sweep(sim: Simulator, clock: Clock, targets: list[Target | int], strategy: str) -> Sweep:
    run = Sweep(
        targets,
        SweepSettings(base_url=sim.base_url, strategy=strategy),
        api_key=sim.api_key,
        clock=clock,
    )
    await run.run()
    return run


async def read_cases(sim: Simulator, run_id: int) -> TestCaseResults:
    async with TestsigmaClient(sim.api_key, sim.base_url) as client:
        return await client.get_test_case_results(run_id)


@pytest.mark.simulator(targets=4, passed_targets=1)
@pytest.mark.parametrize(("strategy", "reruns_passed_tests"), [("all", True), ("failed", False)])
async def test_all_reruns_every_test_and_failed_only_the_failed_ones(
    simulator: Simulator, simulator_clock: Clock, strategy: str, reruns_passed_tests: bool
) -> None:
    done = await sweep(simulator, simulator_clock, simulator.target_ids, strategy)
    for outcome in done.report.results:
        assert outcome.rerun_id is not None
        before = await read_cases(simulator, outcome.target)
        after = await read_cases(simulator, outcome.rerun_id)
        failed = {tc.test_case_id for tc in before.test_cases if not tc.passed}
        everything = {tc.test_case_id for tc in before.test_cases}
        rerun = {tc.test_case_id for tc in after.test_cases}
        assert rerun == (everything if reruns_passed_tests else failed)


@pytest.mark.simulator(targets=2, passed_targets=2)
async def test_a_run_that_passed_is_skipped_by_failed_but_not_by_all(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    skipped = await sweep(simulator, simulator_clock, simulator.passed_ids, "failed")
    assert {o.outcome for o in skipped.report.results} == {OutcomeKind.SKIPPED}
    assert all(o.reason == "already passed" for o in skipped.report.results)
    again = await sweep(simulator, simulator_clock, simulator.passed_ids, "all")
    assert {o.outcome for o in again.report.results} == {OutcomeKind.PASSED}


@pytest.mark.simulator(targets=12, data_driven_fraction=1.0, iterations=(3, 4))
async def test_failed_iterations_reruns_only_the_failed_iterations(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    done = await sweep(simulator, simulator_clock, simulator.target_ids, "failed-iterations")
    for outcome in done.report.results:
        assert outcome.rerun_id is not None
        before = {
            tc.test_case_id: tc for tc in (await read_cases(simulator, outcome.target)).test_cases
        }
        for case in (await read_cases(simulator, outcome.rerun_id)).test_cases:
            failed_sets = {
                it.set_name
                for it in before[case.test_case_id].iteration_results
                if it.result is None or not it.result.passed
            }
            assert {it.set_name for it in case.iteration_results} == failed_sets


@pytest.mark.simulator(targets=3, data_driven_fraction=0.5)
async def test_user_picked_reruns_exactly_the_picked_tests_and_iterations(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    target = simulator.target_ids[0]
    cases = (await read_cases(simulator, target)).test_cases
    plain = next(tc for tc in cases if not tc.iteration_results)
    data_driven = next((tc for tc in cases if len(tc.iteration_results) > 1), None)
    picked_iterations: tuple[int, ...] = ()
    if data_driven is not None:
        first = data_driven.iteration_results[0].iteration_result_id
        assert first is not None
        picked_iterations = (first,)
    assert plain.test_case_result_id is not None
    pick = Target(target, (plain.test_case_result_id,), picked_iterations)
    done = await sweep(simulator, simulator_clock, [pick], "user-picked")
    outcome = next(iter(done.report.results))
    assert outcome.rerun_id is not None, outcome
    rerun = (await read_cases(simulator, outcome.rerun_id)).test_cases
    expected = {plain.test_case_id} | ({data_driven.test_case_id} if data_driven else set())
    assert {tc.test_case_id for tc in rerun} == expected
    if data_driven is not None:
        again = next(tc for tc in rerun if tc.test_case_id == data_driven.test_case_id)
        assert [it.set_name for it in again.iteration_results] == [
            data_driven.iteration_results[0].set_name
        ]


@pytest.mark.simulator(targets=2)
async def test_user_picked_refuses_ids_the_run_does_not_have(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    bad = Target(simulator.target_ids[0], (999_999_999,))
    missing = Target(simulator.target_ids[1])
    done = await sweep(simulator, simulator_clock, [bad, missing], "user-picked")
    errors = {o.target: o.error or "" for o in done.report.results}
    assert "has no test-case result id(s) 999999999" in errors[bad.id]
    assert "user-picked needs testCaseResultIds" in errors[missing.id]
    assert simulator.stats.reruns_created == 0
