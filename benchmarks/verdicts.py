"""``verdicts``: how well three rerun policies tell flaky from broken, and what they cost.

About 2,000 failing tests (every test of a failing run fails; 16% broken, the flaky
ones with a true failure rate from the size-biased Beta(2, 4)), swept three times
against the same seeded truth: one rerun (``max_rounds=1``), "rerun until it passes,
at most 3 times" (pytest-rerunfailures' ``--reruns 3``: three rounds that never call
anything broken, and a test failing all of them counts as labeled broken), and the
adaptive rounds (``max_rounds=8``, threshold 0.95). Figures are over the tests whose
original result was ``FAILURE`` (aborted and not-executed ones are no evidence).
"""

from __future__ import annotations

from typing import Any

from common import API_KEY, emit
from timed import timed_sweep

from rerunorch import ScaledClock, SweepSettings
from rerunorch.testing import Simulator, SimulatorConfig
from rerunorch.verdicts import Verdict

__all__ = ["verdicts"]

POLICIES = {
    "one-rerun": {"max_rounds": 1},
    "until-pass-3": {"max_rounds": 3, "threshold": 0.999999},
    "adaptive": {"max_rounds": 8},
}


async def verdicts(*, quick: bool) -> list[dict[str, Any]]:
    targets = 30 if quick else 270
    rows = []
    for name, policy in POLICIES.items():
        clock = ScaledClock(2000.0)
        config = SimulatorConfig(
            seed=16,
            targets=targets,
            passed_targets=0,
            failure_fraction=1.0,
            data_driven_fraction=0.0,
            flaky_probability=0.84,
            flaky_rate=(2.0, 4.0),
            run_duration=(300.0, 900.0),
        )
        async with Simulator(config, clock=clock) as sim:
            settings = SweepSettings(base_url=sim.base_url, concurrency=16, **policy)  # type: ignore[arg-type]
            timed = await timed_sweep(
                sim.target_ids, settings, api_key=API_KEY, clock=clock, limit=900
            )
            rows.append(
                _figures(name, sim, timed.report, timed.clock_elapsed, baseline=name != "adaptive")
            )
    return rows


def _figures(
    name: str, sim: Simulator, report: Any, simulated: float, *, baseline: bool
) -> dict[str, Any]:
    flaky = broken = proven = labeled_broken = true_labeled = broken_broken = flaky_broken = 0
    undecided = executions = 0
    for outcome in report.results:
        rates = sim.fail_rates(outcome.target)
        failed = {c["testCaseId"] for c in sim.cases(outcome.target) if c["result"] == "FAILURE"}
        for test in outcome.tests:
            if test.test_case_id not in failed:
                continue
            executions += len(test.run_ids) - 1
            truly_broken = rates[test.test_case_id] >= 1
            said_broken = test.verdict is Verdict.BROKEN or (
                baseline and test.verdict is Verdict.UNDECIDED
            )
            broken += truly_broken
            flaky += not truly_broken
            proven += test.verdict is Verdict.FLAKY and not truly_broken
            labeled_broken += said_broken
            true_labeled += said_broken and truly_broken
            broken_broken += said_broken and truly_broken
            flaky_broken += test.verdict is Verdict.FLAKY and truly_broken
            undecided += test.verdict is Verdict.UNDECIDED and not baseline
    return emit(
        "verdicts",
        policy=name,
        failing_tests=flaky + broken,
        truly_broken=broken,
        flaky_proven=round(proven / max(flaky, 1), 3),
        broken_labeled_broken=round(broken_broken / max(broken, 1), 3),
        broken_precision=round(true_labeled / max(labeled_broken, 1), 3),
        broken_labeled_flaky=flaky_broken,
        undecided=undecided,
        test_executions=executions,
        rounds=report.summary.rounds,
        duplicates=sim.stats.duplicate_rerun_attempts,
        simulated_seconds=round(simulated, 1),
        goal="adaptive: flaky_proven >= until-pass-3's, broken_precision >= 0.95, "
        "broken_labeled_flaky == 0",
    )
