"""Flaky or broken, with evidence: a verdict per test from the runs of its rerun chain.

Pure functions, no I/O. The model (docs/verdicts.md):

- Among the tests that fail, a share ``broken_share`` (default 0.16) is truly broken:
  it fails every time. The rest are flaky, each with its own failure rate ``p``.
- Across flaky tests ``p ~ Beta(alpha, beta)`` (default Beta(1, 4)). The failure that
  made a test a target size-biases this: given one failure, ``p ~ Beta(alpha + 1, beta)``.
- So after ``k`` failed *reruns* (the original failure is not counted again: it is
  what the prior is conditioned on), ``P(k failures | flaky) = E[p^k]`` under
  Beta(alpha + 1, beta) and ``P(broken | k) = s / (s + (1 - s) E[p^k])``.

A pass anywhere in the chain next to a failure proves non-determinism: ``flaky``.
The :class:`Prior` protocol is the seam for a per-test prior (the ledger).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from rerunorch.api.enums import IterationReRunType, Result, result_passed
from rerunorch.api.models import TestCaseResultRequest, TestCaseResults

__all__ = [
    "DEFAULT_THRESHOLD",
    "BetaPrior",
    "Bound",
    "Evidence",
    "IterationVerdict",
    "Prior",
    "RoundContext",
    "Seen",
    "TestEvidence",
    "TestVerdict",
    "Verdict",
    "gather",
    "judge",
    "next_round",
    "rounds_to_decide",
    "verdicts",
]

DEFAULT_THRESHOLD = 0.95
"""``P(broken | evidence)`` at which a test that failed every time is called broken."""

_NOT_RUN = frozenset({Result.ABORTED.value, Result.NOT_EXECUTED.value, Result.STOPPED.value})


class Verdict(str, enum.Enum):
    """What a test is, given its chain (the report's ``verdict`` values)."""

    FLAKY = "flaky"  # failed and passed within the chain: non-deterministic, proven
    BROKEN = "broken"  # failed every time, and P(broken) reached the threshold
    UNDECIDED = "undecided"  # failed every time; a bound was hit before the threshold
    PASSED = "passed"  # passed every time it ran
    NOT_RUN = "not_run"  # never got a result (aborted, not executed, stopped)

    @property
    def decided(self) -> bool:
        """Whether more reruns would not change this verdict."""
        return self in (Verdict.FLAKY, Verdict.BROKEN, Verdict.PASSED)


class Bound(str, enum.Enum):
    """Why the rounds stopped before every test had a verdict (the report's ``bound``)."""

    MAX_ROUNDS = "max_rounds"  # --max-rounds
    RERUN_CAP = "rerun_cap"  # Testsigma's 10 reruns per run, counted over the chain
    BUDGET = "budget"  # --budget (rerun time)
    DEADLINE = "deadline"  # --deadline: no new round after it
    STOPPED = "stopped"  # the sweep stopped, or a later round timed out or was interrupted
    STRATEGY = "strategy"  # the strategy or a plugin (``next_round``) left it out


_BOUND_TEXT = {Bound.STOPPED: "sweep stopped", Bound.STRATEGY: "left out by the strategy"}
"""How a bound that is not a limit reads in the evidence (a limit reads "budget reached")."""


class Seen(str, enum.Enum):
    """One run's result for one test."""

    PASS = "pass"
    FAIL = "fail"
    NOT_RUN = "not_run"

    @classmethod
    def of(cls, result: Result | str | None) -> Seen:
        """A result's reading: a pass, a failure, or no result at all."""
        if result_passed(result):
            return cls.PASS
        if result is None or str(result) in _NOT_RUN:
            return cls.NOT_RUN
        return cls.FAIL


class Prior(Protocol):
    """The model's prior for one test; a per-test history plugs in here."""

    def p_broken(self, failed_reruns: int) -> float:
        """P(broken | the original failure and ``failed_reruns`` failed reruns)."""
        ...


@attrs.frozen(kw_only=True)
class BetaPrior:
    """The population prior: a share of broken tests and a Beta over flaky failure rates.

    Attributes:
        broken_share: P(broken) among failing tests (0.16: Google's 84% flaky transitions).
        alpha: Beta's first parameter for a flaky test's failure rate.
        beta: Beta's second parameter.

    >>> round(BetaPrior().p_broken(3), 2)
    0.73
    """

    broken_share: float = 0.16
    alpha: float = 1.0
    beta: float = 4.0

    def __attrs_post_init__(self) -> None:
        if not 0 < self.broken_share < 1:
            raise ValueError(f"broken_share must be between 0 and 1, not {self.broken_share!r}")
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError(f"alpha and beta must be positive, not {self.alpha}, {self.beta}")

    def flaky_fails(self, failed_reruns: int) -> float:
        """P(``failed_reruns`` failures in a row | flaky, it failed once): E[p^k], size-biased."""
        a, b = self.alpha + 1, self.beta  # size-biased by the failure that made it a target
        product = 1.0
        for i in range(failed_reruns):
            product *= (a + i) / (a + b + i)
        return product

    def p_broken(self, failed_reruns: int) -> float:
        share = self.broken_share
        return share / (share + (1 - share) * self.flaky_fails(failed_reruns))


def rounds_to_decide(prior: Prior, threshold: float = DEFAULT_THRESHOLD, limit: int = 64) -> int:
    """How many failed reruns make a test broken under ``prior`` (``limit`` if never)."""
    for k in range(limit):
        if prior.p_broken(k) >= threshold:
            return k
    return limit


@attrs.frozen(kw_only=True)
class Evidence:
    """What the chain showed of one test (or one iteration), oldest run first.

    Attributes:
        seen: ``(run id, Seen)`` per run that included it.
    """

    seen: tuple[tuple[int, Seen], ...] = ()

    @property
    def runs(self) -> int:
        """Runs in which it got a result (pass or fail)."""
        return sum(1 for _, s in self.seen if s is not Seen.NOT_RUN)

    @property
    def failures(self) -> int:
        return sum(1 for _, s in self.seen if s is Seen.FAIL)

    @property
    def passes(self) -> int:
        return sum(1 for _, s in self.seen if s is Seen.PASS)

    @property
    def run_ids(self) -> tuple[int, ...]:
        return tuple(run for run, _ in self.seen)

    @property
    def last(self) -> Seen | None:
        return self.seen[-1][1] if self.seen else None

    @property
    def stuck(self) -> bool:
        """Its last two runs did not run it (aborted, not executed, stopped): a third
        is unlikely to, so it leaves the rounds rather than spend device time."""
        return len(self.seen) >= 2 and all(s is Seen.NOT_RUN for _, s in self.seen[-2:])

    def add(self, run_id: int, seen: Seen) -> Evidence:
        return Evidence(seen=(*self.seen, (run_id, seen)))


@attrs.frozen(kw_only=True)
class TestEvidence:
    """One test case over the chain, with what the newest run needs to rerun it.

    Attributes:
        test_case_id: The test case (None: keyed by name).
        test_case_name: Its name.
        evidence: Its own results.
        iterations: Each data set's results, by ``setName``.
        head_result_id: Its test-case result id in the newest run that included it.
        head_run_id: That run.
        head_iterations: ``setName`` -> iteration result id in that run.
    """

    __test__ = False

    test_case_id: int | None
    test_case_name: str | None = None
    evidence: Evidence = Evidence()
    iterations: Mapping[str, Evidence] = attrs.field(factory=dict)
    head_result_id: int | None = None
    head_run_id: int | None = None
    head_iterations: Mapping[str, int] = attrs.field(factory=dict)


def _key(test_case_id: int | None, name: str | None) -> object:
    return test_case_id if test_case_id is not None else ("name", name)


def gather(chain: Iterable[tuple[int, TestCaseResults]]) -> dict[object, TestEvidence]:
    """Each test's evidence over ``(run id, test-case results)``, oldest run first.

    Only tests that some rerun of the chain ran are judged: a test seen in the first run
    alone was not picked for a rerun (it passed, or a strategy such as a quarantine left
    it out), so the chain holds no evidence on it.
    """
    tests: dict[object, TestEvidence] = {}
    first: int | None = None
    for run_id, results in chain:
        first = run_id if first is None else first
        for tc in results.test_cases:
            key = _key(tc.test_case_id, tc.test_case_name)
            old = tests.get(key) or TestEvidence(
                test_case_id=tc.test_case_id, test_case_name=tc.test_case_name
            )
            iterations = dict(old.iterations)
            head_iterations: dict[str, int] = {}
            for it in tc.iteration_results:
                name = it.set_name or str(it.iteration_result_id)
                iterations[name] = iterations.get(name, Evidence()).add(run_id, Seen.of(it.result))
                if it.iteration_result_id is not None:
                    head_iterations[name] = it.iteration_result_id
            tests[key] = TestEvidence(
                test_case_id=tc.test_case_id,
                test_case_name=tc.test_case_name or old.test_case_name,
                evidence=old.evidence.add(run_id, Seen.of(tc.result)),
                iterations=iterations,
                head_result_id=tc.test_case_result_id,
                head_run_id=run_id,
                head_iterations=head_iterations,
            )
    return {key: test for key, test in tests.items() if set(test.evidence.run_ids) - {first}}


def judge(
    evidence: Evidence,
    prior: Prior,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[Verdict, float | None]:
    """A verdict and ``P(broken)`` (0 for flaky; None when it never failed).

    A test that failed every time and is short of the threshold is ``undecided``:
    rerun it, or (the rounds over) report it so with the bound that ended them.
    """
    failures, passes = evidence.failures, evidence.passes
    if passes and (failures or evidence.passes < len(evidence.seen)):
        # A failure, or a run that did not run it, next to a pass: non-deterministic.
        return Verdict.FLAKY, 0.0
    if passes:
        return Verdict.PASSED, None
    if not failures:
        return Verdict.NOT_RUN, None
    p = prior.p_broken(failures - 1)
    return (Verdict.BROKEN if p >= threshold else Verdict.UNDECIDED), p


@attrs.frozen(kw_only=True)
class IterationVerdict:
    """One data set's verdict (the report's ``iterations[]``)."""

    set_name: str
    verdict: Verdict
    runs: int
    failures: int

    def to_json(self) -> dict[str, object]:
        return {
            "setName": self.set_name,
            "verdict": self.verdict.value,
            "runs": self.runs,
            "failures": self.failures,
        }


@attrs.frozen(kw_only=True)
class TestVerdict:
    """One test's verdict with its evidence (the report's ``tests[]``).

    Attributes:
        bound: For ``undecided``: which bound ended the rounds first.
        run_ids: The runs of the chain that included it, oldest first.
    """

    __test__ = False

    test_case_id: int | None
    test_case_name: str | None
    verdict: Verdict
    runs: int
    failures: int
    p_broken: float | None = None
    bound: Bound | None = None
    run_ids: tuple[int, ...] = ()
    iterations: tuple[IterationVerdict, ...] = ()

    @property
    def evidence_text(self) -> str:
        """``"broken: failed 6 of 6 runs, P=0.96"``; runs that never ran it are said so
        (``"flaky: failed 0 of 1 runs, 1 not run"``: aborted once, then passed; a test that
        never ran: ``"not_run: not run in 2 runs"``)."""
        if self.verdict is Verdict.NOT_RUN and not self.runs:
            return f"not_run: not run in {len(self.run_ids)} runs"
        text = f"{self.verdict.value}: failed {self.failures} of {self.runs} runs"
        if len(self.run_ids) > self.runs:
            text += f", {len(self.run_ids) - self.runs} not run"
        if self.p_broken is not None and self.verdict is not Verdict.FLAKY:
            text += f", P={self.p_broken:.2f}"
        if self.bound is not None:
            text += f" ({_BOUND_TEXT.get(self.bound, f'{self.bound.value} reached')})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "testCaseId": self.test_case_id,
            "testCaseName": self.test_case_name,
            "verdict": self.verdict.value,
            "runs": self.runs,
            "failures": self.failures,
            "p_broken": None if self.p_broken is None else round(self.p_broken, 4),
            "bound": None if self.bound is None else self.bound.value,
            "run_ids": list(self.run_ids),
            "iterations": [it.to_json() for it in self.iterations],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TestVerdict:
        """Read back a ``tests[]`` record."""
        bound = data.get("bound")
        p = data.get("p_broken")
        return cls(
            test_case_id=_int_or_none(data.get("testCaseId")),
            test_case_name=_str_or_none(data.get("testCaseName")),
            verdict=Verdict(str(data["verdict"])),
            runs=int(str(data.get("runs", 0))),
            failures=int(str(data.get("failures", 0))),
            p_broken=float(str(p)) if p is not None else None,
            bound=Bound(str(bound)) if bound is not None else None,
            run_ids=tuple(int(str(r)) for r in _list(data.get("run_ids"))),
            iterations=tuple(
                IterationVerdict(
                    set_name=str(it.get("setName")),
                    verdict=Verdict(str(it["verdict"])),
                    runs=int(str(it.get("runs", 0))),
                    failures=int(str(it.get("failures", 0))),
                )
                for it in _list(data.get("iterations"))
                if isinstance(it, Mapping)
            ),
        )


def _int_or_none(value: object) -> int | None:
    return int(str(value)) if value is not None else None


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _list(value: object) -> Sequence[object]:
    return value if isinstance(value, list) else ()


PriorFor = Callable[[TestEvidence], Prior]


@attrs.frozen(kw_only=True)
class RoundContext:
    """What a strategy's optional ``async next_round(ctx)`` sees before a later round.

    It answers the picks to rerun (a subset of ``picks``: a strategy may narrow a
    round, e.g. leave out a quarantined test, never widen it), an empty tuple to end
    the rounds (the undecided tests get the bound ``strategy``), or None to keep
    ``picks``.

    Attributes:
        target: The target's execution-result id.
        round: The number of the round about to start (2 or more).
        head_id: The newest run of the chain, the one to be rerun.
        tests: Each test's verdict so far.
        picks: What the built-in rule would rerun (undecided tests of the newest run).
        picked: Each pick's test, by the pick's test-case result id.
    """

    target: int
    round: int
    head_id: int
    tests: tuple[TestVerdict, ...]
    picks: tuple[TestCaseResultRequest, ...]
    picked: Mapping[int, TestVerdict] = attrs.field(factory=dict)


def verdicts(
    tests: Mapping[object, TestEvidence],
    prior: Prior | PriorFor,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    bound: Bound | None = None,
    bounds: Mapping[object, Bound] | None = None,
) -> tuple[TestVerdict, ...]:
    """Every test's verdict; ``bound`` (why rounds ended) goes to the undecided ones,
    or ``bounds[key]`` for a test that left the rounds earlier (e.g. by the strategy)."""
    out = []
    for key, test in tests.items():
        test_prior = prior(test) if callable(prior) else prior
        verdict, p = judge(test.evidence, test_prior, threshold=threshold)
        iterations = tuple(
            IterationVerdict(
                set_name=name,
                verdict=judge(ev, test_prior, threshold=threshold)[0],
                runs=ev.runs,
                failures=ev.failures,
            )
            for name, ev in test.iterations.items()
        )
        out.append(
            TestVerdict(
                test_case_id=test.test_case_id,
                test_case_name=test.test_case_name,
                verdict=verdict,
                runs=test.evidence.runs,
                failures=test.evidence.failures,
                p_broken=p,
                bound=None if verdict.decided else (bounds or {}).get(key, bound),
                run_ids=test.evidence.run_ids,
                iterations=iterations,
            )
        )
    return tuple(out)


def next_round(
    tests: Mapping[object, TestEvidence],
    prior: Prior | PriorFor,
    head_id: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[TestCaseResultRequest, ...]:
    """What the next round reruns from the newest run ``head_id`` (USER_PICKED).

    A test is rerun when the newest run included it, it did not pass there, it has no
    verdict yet and its last two runs did not both leave it unrun (``Evidence.stuck``); a
    data-driven one with exactly its undecided iterations.
    """
    picked = []
    for test in tests.values():
        if test.head_run_id != head_id or test.head_result_id is None:
            continue
        if test.evidence.last is Seen.PASS or test.evidence.stuck:
            continue
        test_prior = prior(test) if callable(prior) else prior
        if judge(test.evidence, test_prior, threshold=threshold)[0].decided:
            continue
        iteration_ids = tuple(
            test.head_iterations[name]
            for name, ev in test.iterations.items()
            if name in test.head_iterations
            and ev.last is not Seen.PASS
            and not ev.stuck
            and not judge(ev, test_prior, threshold=threshold)[0].decided
        )
        if iteration_ids:
            picked.append(
                TestCaseResultRequest(
                    id=test.head_result_id,
                    iteration_re_run_type=IterationReRunType.USER_PICKED,
                    iteration_result_ids=iteration_ids,
                )
            )
        else:
            picked.append(TestCaseResultRequest(id=test.head_result_id))
    return tuple(picked)
