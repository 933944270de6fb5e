"""``verdicts``: how well three rerun policies tell flaky from broken, and what they cost.

About 2,000 tests whose original result was ``FAILURE`` (every test of a failing run
fails; the aborted and not-executed ones are no evidence and are left out of the figures),
16% broken, the flaky ones with a true failure rate from the size-biased Beta(2, 4). Three
policies are swept against the same seeded truth: one rerun (``max_rounds=1``), "rerun
until it passes, at most 3 times" (pytest-rerunfailures' ``--reruns 3``: three rounds that
never call anything broken; a test failing all of them counts as labeled broken), and the
adaptive rounds (``max_rounds=8``, threshold 0.95).

One seed's figure for "labeled broken that are broken" is a small count of flaky tests that
failed every rerun (about 8 of 2,000 at 8 reruns): it moves by a few hundredths from seed to
seed. So the scenario runs several seeds and prints a row per seed and policy, then a
``verdicts-summary`` row per policy: the figures pooled over the seeds, each seed's range, and
what the model expects of that truth (the flaky tests' true rates ``p``: ``sum(p ** k)`` of
them fail the ``k`` reruns it takes to be labeled broken).
"""

from __future__ import annotations

import time
from typing import Any

from common import API_KEY, emit
from timed import timed_sweep

from rerunorch import ScaledClock, SweepSettings
from rerunorch.testing import Simulator, SimulatorConfig
from rerunorch.verdicts import DEFAULT_THRESHOLD, BetaPrior, Verdict, rounds_to_decide

__all__ = ["verdicts"]

POLICIES: dict[str, dict[str, Any]] = {
    "one-rerun": {"max_rounds": 1},
    "until-pass-3": {"max_rounds": 3, "threshold": 0.999999},
    "adaptive": {"max_rounds": 8},
}
SEEDS = (16, 17, 18, 19, 20)
_COUNTS = ("failing", "broken", "proven", "labeled", "true_labeled", "broken_broken")
_COUNTS += ("flaky_broken", "undecided", "executions", "rounds", "duplicates")


def _labeled_after(policy: dict[str, Any], *, baseline: bool) -> int:
    """How many failed reruns in a row get a test labeled broken under ``policy``: every
    round for a baseline ("still failing"), else as many as the model needs."""
    rounds = int(policy["max_rounds"])
    if baseline:
        return rounds
    threshold = policy.get("threshold", DEFAULT_THRESHOLD)
    return min(rounds_to_decide(BetaPrior(), threshold), rounds)


async def verdicts(*, quick: bool) -> list[dict[str, Any]]:
    targets = 30 if quick else 380
    seeds = SEEDS[:1] if quick else SEEDS
    rows: list[dict[str, Any]] = []
    pooled: dict[str, list[dict[str, Any]]] = {name: [] for name in POLICIES}
    for seed in seeds:
        for name, policy in POLICIES.items():
            row = await _sweep(name, policy, seed, targets)
            rows.append(row)
            pooled[name].append(row)
    for name, runs in pooled.items():
        rows.append(_summary(name, runs))
    return rows


async def _sweep(name: str, policy: dict[str, Any], seed: int, targets: int) -> dict[str, Any]:
    clock = ScaledClock(2000.0)
    config = SimulatorConfig(
        seed=seed,
        targets=targets,
        passed_targets=0,
        failure_fraction=1.0,
        data_driven_fraction=0.0,
        flaky_probability=0.84,
        flaky_rate=(2.0, 4.0),
        run_duration=(300.0, 900.0),
    )
    async with Simulator(config, clock=clock) as sim:
        settings = SweepSettings(base_url=sim.base_url, concurrency=16, **policy)
        started = time.perf_counter()
        timed = await timed_sweep(sim.target_ids, settings, api_key=API_KEY, clock=clock, limit=900)
        baseline = name != "adaptive"
        k = _labeled_after(policy, baseline=baseline)
        counts = _count(sim, timed.report, baseline=baseline, k=k)
        counts["rounds"] = timed.report.summary.rounds
        counts["duplicates"] = sim.stats.duplicate_rerun_attempts
        return emit(
            "verdicts",
            policy=name,
            seed=seed,
            **_figures(counts),
            simulated_seconds=round(timed.clock_elapsed, 1),
            wall_seconds=round(time.perf_counter() - started, 2),
        )


def _count(sim: Simulator, report: Any, *, baseline: bool, k: int) -> dict[str, Any]:
    """The counts over the tests whose original result was FAILURE, and the model's
    expectation of flaky tests labeled broken: each fails ``k`` reruns with ``p ** k``."""
    c: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    c["expected_false"] = 0.0
    for outcome in report.results:
        rates = sim.fail_rates(outcome.target)
        failed = {t["testCaseId"] for t in sim.cases(outcome.target) if t["result"] == "FAILURE"}
        for test in outcome.tests:
            if test.test_case_id not in failed:
                continue
            truly_broken = rates[test.test_case_id] >= 1
            said_broken = test.verdict is Verdict.BROKEN or (
                baseline and test.verdict is Verdict.UNDECIDED
            )
            c["failing"] += 1
            c["executions"] += len(test.run_ids) - 1
            c["broken"] += truly_broken
            c["proven"] += test.verdict is Verdict.FLAKY and not truly_broken
            c["labeled"] += said_broken
            c["true_labeled"] += said_broken and truly_broken
            c["broken_broken"] += said_broken and truly_broken
            c["flaky_broken"] += test.verdict is Verdict.FLAKY and truly_broken
            c["undecided"] += test.verdict is Verdict.UNDECIDED and not baseline
            if not truly_broken:
                c["expected_false"] += rates[test.test_case_id] ** k
    return c


def _figures(c: dict[str, Any]) -> dict[str, Any]:
    flaky = c["failing"] - c["broken"]
    expected_labeled = c["broken"] + c["expected_false"]
    return {
        "failing_tests": c["failing"],
        "truly_broken": c["broken"],
        "flaky_proven": round(c["proven"] / max(flaky, 1), 3),
        "broken_labeled_broken": round(c["broken_broken"] / max(c["broken"], 1), 3),
        "broken_precision": round(c["true_labeled"] / max(c["labeled"], 1), 3),
        "flaky_labeled_broken": c["labeled"] - c["true_labeled"],
        "expected_flaky_labeled_broken": round(c["expected_false"], 1),
        "expected_precision": round(c["broken"] / max(expected_labeled, 1), 3),
        "broken_labeled_flaky": c["flaky_broken"],
        "undecided": c["undecided"],
        "test_executions": c["executions"],
        "rounds": c["rounds"],
        "duplicates": c["duplicates"],
    }


def _summary(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One policy over every seed: pooled counts, and each seed's range of the two rates."""
    failing = sum(r["failing_tests"] for r in runs)
    broken = sum(r["truly_broken"] for r in runs)
    flaky = failing - broken
    proven = sum(round(r["flaky_proven"] * (r["failing_tests"] - r["truly_broken"])) for r in runs)
    false = sum(r["flaky_labeled_broken"] for r in runs)
    labeled_true = sum(round(r["broken_labeled_broken"] * r["truly_broken"]) for r in runs)
    expected_false = sum(r["expected_flaky_labeled_broken"] for r in runs)
    precision = [r["broken_precision"] for r in runs]
    proven_rates = [r["flaky_proven"] for r in runs]
    return emit(
        "verdicts-summary",
        policy=name,
        seeds=[r["seed"] for r in runs],
        failing_tests=failing,
        truly_broken=broken,
        flaky_proven=round(proven / max(flaky, 1), 3),
        flaky_proven_range=[min(proven_rates), max(proven_rates)],
        broken_labeled_broken=round(labeled_true / max(broken, 1), 3),
        broken_precision=round(labeled_true / max(labeled_true + false, 1), 3),
        broken_precision_range=[min(precision), max(precision)],
        flaky_labeled_broken=false,
        expected_flaky_labeled_broken=round(expected_false, 1),
        expected_precision=round(broken / max(broken + expected_false, 1), 3),
        broken_labeled_flaky=sum(r["broken_labeled_flaky"] for r in runs),
        undecided=sum(r["undecided"] for r in runs),
        test_executions=sum(r["test_executions"] for r in runs),
        executions_per_failing_test=round(
            sum(r["test_executions"] for r in runs) / max(failing, 1), 2
        ),
        rounds=sum(r["rounds"] for r in runs),
        duplicates=sum(r["duplicates"] for r in runs),
        simulated_seconds_per_seed=round(sum(r["simulated_seconds"] for r in runs) / len(runs), 1),
        wall_seconds=round(sum(r["wall_seconds"] for r in runs), 1),
        goal="adaptive: flaky_proven >= until-pass-3's, broken_precision >= 0.95, "
        "broken_labeled_flaky == 0",
    )
