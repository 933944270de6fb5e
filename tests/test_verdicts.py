"""The verdict model: posteriors, verdicts per test and iteration, the next round's picks."""

from __future__ import annotations

import math

import pytest

from rerunorch.api.enums import IterationReRunType, Result
from rerunorch.api.models import IterationResult, TestCaseResult, TestCaseResults
from rerunorch.verdicts import (
    BetaPrior,
    Bound,
    Evidence,
    Seen,
    TestVerdict,
    Verdict,
    gather,
    judge,
    next_round,
    rounds_to_decide,
    verdicts,
)

PRIOR = BetaPrior()


@pytest.mark.parametrize(("reruns", "expected"), [(0, 0.16), (1, 0.36), (3, 0.73), (10, 0.98)])
def test_the_issues_figures(reruns: int, expected: float) -> None:
    assert PRIOR.p_broken(reruns) == pytest.approx(expected, abs=0.005)


def test_the_closed_form_is_the_beta_moment() -> None:
    # E[p^k] under Beta(2, 4) = B(2 + k, 4) / B(2, 4).
    def beta(a: float, b: float) -> float:
        return math.gamma(a) * math.gamma(b) / math.gamma(a + b)

    for k in range(12):
        assert PRIOR.flaky_fails(k) == pytest.approx(beta(2 + k, 4) / beta(2, 4))


def test_eight_failed_reruns_reach_the_default_threshold() -> None:
    assert rounds_to_decide(PRIOR) == 8
    assert PRIOR.p_broken(7) < 0.95 <= PRIOR.p_broken(8)
    assert rounds_to_decide(BetaPrior(broken_share=0.5)) < 8


def test_bad_priors_are_refused() -> None:
    with pytest.raises(ValueError, match="broken_share"):
        BetaPrior(broken_share=1.0)
    with pytest.raises(ValueError, match="alpha"):
        BetaPrior(alpha=0)


def seen(*marks: str) -> Evidence:
    kinds = {"P": Seen.PASS, "F": Seen.FAIL, "N": Seen.NOT_RUN}
    return Evidence(seen=tuple((i + 1, kinds[m]) for i, m in enumerate(marks)))


@pytest.mark.parametrize(
    ("marks", "verdict"),
    [
        ("FP", Verdict.FLAKY),
        ("FFFP", Verdict.FLAKY),
        ("PF", Verdict.FLAKY),
        ("P", Verdict.PASSED),
        ("N", Verdict.NOT_RUN),
        ("NP", Verdict.FLAKY),
        ("NN", Verdict.NOT_RUN),
        ("F", Verdict.UNDECIDED),
        ("FFFFFFFF", Verdict.UNDECIDED),
        ("FFFFFFFFF", Verdict.BROKEN),
        ("FNFFFFFFFF", Verdict.BROKEN),
    ],
)
def test_judge(marks: str, verdict: Verdict) -> None:
    assert judge(seen(*marks), PRIOR)[0] is verdict


def test_not_run_is_no_evidence() -> None:
    ev = seen("F", "N", "F")
    assert (ev.runs, ev.failures) == (2, 2)
    assert judge(ev, PRIOR)[1] == pytest.approx(PRIOR.p_broken(1))


def test_the_threshold_is_the_callers() -> None:
    assert judge(seen("F", "F", "F", "F"), PRIOR, threshold=0.7)[0] is Verdict.BROKEN


def case(
    tc_id: int, result_id: int, result: Result, *iterations: tuple[str, int, Result]
) -> TestCaseResult:
    return TestCaseResult(
        test_case_id=tc_id,
        test_case_name=f"t{tc_id}",
        test_case_result_id=result_id,
        result=result,
        is_data_driven_case=bool(iterations),
        iteration_results=tuple(
            IterationResult(set_name=name, iteration_result_id=rid, result=r)
            for name, rid, r in iterations
        ),
    )


def run(*cases: TestCaseResult) -> TestCaseResults:
    return TestCaseResults(test_cases=cases)


F, S, N = Result.FAILURE, Result.SUCCESS, Result.NOT_EXECUTED


def test_a_chain_gives_each_test_its_evidence_and_the_next_round() -> None:
    chain = [
        (100, run(case(1, 11, F), case(2, 12, F), case(3, 13, S), case(4, 14, F))),
        (101, run(case(1, 21, S), case(2, 22, F), case(4, 24, N))),
    ]
    tests = gather(chain)
    by_id = {v.test_case_id: v for v in verdicts(tests, PRIOR, bound=Bound.MAX_ROUNDS)}
    assert by_id[1].verdict is Verdict.FLAKY
    assert by_id[1].bound is None
    assert by_id[1].run_ids == (100, 101)
    assert by_id[2].verdict is Verdict.UNDECIDED
    assert by_id[2].bound is Bound.MAX_ROUNDS
    assert by_id[2].p_broken == pytest.approx(PRIOR.p_broken(1))
    assert 3 not in by_id  # passed, so not rerun: the chain holds no evidence on it
    assert by_id[4].verdict is Verdict.UNDECIDED
    assert (by_id[4].runs, by_id[4].failures) == (1, 1)
    picked = next_round(tests, PRIOR, 101)
    # Only tests of the newest run, by their result ids there; the flaky one leaves.
    assert sorted(r.id for r in picked) == [22, 24]
    assert next_round(tests, PRIOR, 100) == ()


def test_a_test_no_rerun_ran_gets_no_verdict() -> None:
    # Quarantined (left out of the rerun): its one failure is not evidence of anything.
    chain = [(100, run(case(1, 11, F), case(2, 12, F))), (101, run(case(2, 22, S)))]
    assert [v.test_case_id for v in verdicts(gather(chain), PRIOR)] == [2]


def test_iterations_get_verdicts_and_only_undecided_ones_are_rerun() -> None:
    chain = [
        (100, run(case(1, 11, F, ("a", 111, F), ("b", 112, F), ("c", 113, S)))),
        (101, run(case(1, 21, F, ("a", 211, S), ("b", 212, F)))),
    ]
    tests = gather(chain)
    (verdict,) = verdicts(tests, PRIOR)
    assert {it.set_name: it.verdict for it in verdict.iterations} == {
        "a": Verdict.FLAKY,
        "b": Verdict.UNDECIDED,
        "c": Verdict.PASSED,
    }
    (picked,) = next_round(tests, PRIOR, 101)
    assert picked.id == 21
    assert picked.iteration_re_run_type is IterationReRunType.USER_PICKED
    assert picked.iteration_result_ids == (212,)


def test_a_broken_test_leaves_the_rounds() -> None:
    chain = [(100 + i, run(case(1, 10 + i, F))) for i in range(9)]
    tests = gather(chain)
    assert verdicts(tests, PRIOR)[0].verdict is Verdict.BROKEN
    assert next_round(tests, PRIOR, 108) == ()


def test_a_test_not_run_twice_in_a_row_leaves_the_rounds() -> None:
    once = [(100, run(case(1, 11, F), case(2, 12, F))), (101, run(case(1, 21, N), case(2, 22, N)))]
    assert sorted(r.id for r in next_round(gather(once), PRIOR, 101)) == [21, 22]
    twice = [*once, (102, run(case(1, 31, N), case(2, 32, F)))]
    # Test 1 did not run in its last two runs: a third is unlikely to run it.
    assert [r.id for r in next_round(gather(twice), PRIOR, 102)] == [32]
    by_id = {v.test_case_id: v for v in verdicts(gather(twice), PRIOR)}
    assert by_id[1].verdict is Verdict.UNDECIDED  # it failed once: still no proof either way


def test_a_per_test_prior_plugs_in() -> None:
    tests = gather(
        [(100, run(case(1, 11, F), case(2, 12, F))), (101, run(case(1, 21, F), case(2, 22, F)))]
    )
    sure = BetaPrior(broken_share=0.9)
    by_id = {
        v.test_case_id: v.verdict
        for v in verdicts(tests, lambda t: sure if t.test_case_id == 1 else PRIOR)
    }
    assert by_id == {1: Verdict.BROKEN, 2: Verdict.UNDECIDED}


def test_a_verdict_round_trips_and_says_its_evidence() -> None:
    tests = gather([(100 + i, run(case(1, 10 + i, F, ("a", 50 + i, F)))) for i in range(9)])
    (verdict,) = verdicts(tests, PRIOR)
    assert TestVerdict.from_json(verdict.to_json()).to_json() == verdict.to_json()
    assert verdict.evidence_text == "broken: failed 9 of 9 runs, P=0.96"


def test_the_evidence_names_runs_that_did_not_run_the_test() -> None:
    # Aborted in the original run, passed on rerun: flaky, and the text says why.
    chain = [(100, run(case(1, 11, N))), (101, run(case(1, 21, S)))]
    (verdict,) = verdicts(gather(chain), PRIOR)
    assert verdict.verdict is Verdict.FLAKY
    assert verdict.evidence_text == "flaky: failed 0 of 1 runs, 1 not run"
