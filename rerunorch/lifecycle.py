"""One target's way through a sweep: read, decide, trigger exactly once, follow, judge,
and again in rounds until each test has a verdict (docs/verdicts.md).

The exactly-once rule rests on Testsigma's "one child per run": a run can be
rerun once, and its rerun is its ``childResult``. So whenever a POST's fate is
unknown (timeout, reset, 5xx) or the server says the rerun already exists, the
parent is read again: a child there is the rerun, adopted, and the POST is sent
again only when the parent has none.
"""

from __future__ import annotations

import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

import anyio
import attrs

from rerunorch.api.client import TestsigmaClient
from rerunorch.api.enums import ReRunType
from rerunorch.api.models import (
    ExecutionResult,
    RerunRequest,
    TestCaseResult,
    TestCaseResultRequest,
    TestCaseResults,
)
from rerunorch.clock import Clock
from rerunorch.errors import (
    ApiError,
    AuthError,
    JournalError,
    OutcomeUnknown,
    PlanBusy,
    RateLimited,
    RequestNotSent,
    RerunAlreadyExists,
    RerunorchError,
    ServerError,
)
from rerunorch.events import RerunTriggered
from rerunorch.journal import Journal, JournalEntry, State
from rerunorch.ledger.advice import SweepHistory
from rerunorch.ledger.observe import observations
from rerunorch.ledger.records import Observation, TestFlake
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.pacing import RerunSlots
from rerunorch.polling import PollTimer, expected_duration
from rerunorch.settings import SweepSettings
from rerunorch.startorder import RUNNING, start_priority
from rerunorch.startorder import rerun_share as _share
from rerunorch.strategies.base import DecisionContext, Selection, Skip, Strategy
from rerunorch.targets import Target
from rerunorch.verdicts import (
    Bound,
    RoundContext,
    Seen,
    TestEvidence,
    TestVerdict,
    Verdict,
    gather,
    next_round,
    verdicts,
)

__all__ = ["RERUN_CAP", "RerunBudget", "TargetRun"]

log = logging.getLogger(__name__)

MAX_CHAIN = 32
"""Most runs of one rerun chain that are walked (Testsigma allows 10 reruns per run)."""
RERUN_CAP = 10
"""Reruns Testsigma allows per run: no round is started on a chain that holds this many."""


class RerunBudget:
    """Rerun time (seconds) shared by a sweep's targets (``--budget``; None: no limit).

    A round takes its estimate before it is triggered and settles it with the
    time the rerun took once it ends; round 1 is never refused, only counted.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.spent = 0.0

    def take(self, estimate: float) -> bool:
        """Reserve ``estimate``; False (nothing reserved) when it would exceed the budget."""
        if self.seconds is not None and self.spent + estimate > self.seconds:
            return False
        self.spent += estimate
        return True

    def settle(self, estimate: float, actual: float) -> None:
        """Replace a reservation with what the rerun took."""
        self.spent += actual - estimate


class TargetRun:
    """Works one target to its :class:`Outcome`.

    ``stop`` is set when the sweep winds down: a target not yet
    triggered then ends ``interrupted``; a running rerun is followed until
    ``deadline()`` (the end of the grace period) and then ends ``interrupted``.
    """

    def __init__(
        self,
        target: Target,
        *,
        client: TestsigmaClient,
        strategy: Strategy,
        settings: SweepSettings,
        active: RerunSlots,
        clock: Clock,
        rng: random.Random,
        stop: anyio.Event,
        grace_deadline: Callable[[], float | None],
        on_triggered: Callable[[RerunTriggered], Awaitable[None]],
        journal: Journal | None = None,
        resume: JournalEntry | None = None,
        budget: RerunBudget | None = None,
        on_ended: Callable[[ExecutionResult], None] | None = None,
        history: SweepHistory | None = None,
    ) -> None:
        self.target = target
        self._on_ended = on_ended  # told of each rerun seen completed (device time, makespan)
        self._client = client
        self._strategy = strategy
        self._settings = settings
        self._active = active
        self._clock = clock
        self._rng = rng
        self._stop = stop
        self._grace_deadline = grace_deadline
        self._on_triggered = on_triggered
        self._journal = journal
        self._resume = resume
        self._test_cases: dict[int, TestCaseResults] = {}
        self.execution_id: int | None = None
        self.rerun_id: int | None = None
        self.adopted = False
        self.polls = 0
        self.selection: Selection | None = None  # what the strategy chose, for the outcome
        self.rounds = 0  # rounds triggered or adopted for this target
        self._budget = budget if budget is not None else RerunBudget(settings.budget)
        self._estimate = 0.0  # the running round's reservation of the budget
        self._history = history
        population = settings.prior()
        self._prior = history.prior_for(population) if history is not None else population
        self._runs: list[ExecutionResult] = []  # the chain as walked, for the ledger
        self._from_history: tuple[TestVerdict, ...] = ()  # known broken, not rerun again
        self._left_out: dict[object, Bound] = {}  # tests the strategy took out of the rounds

    def outcome(
        self,
        kind: OutcomeKind,
        *,
        result: str | None = None,
        error: str | None = None,
        reason: str | None = None,
        flaky: tuple[TestRef, ...] = (),
        still_failing: tuple[TestRef, ...] = (),
        tests: tuple[TestVerdict, ...] = (),
        quarantined: tuple[TestRef, ...] = (),
    ) -> Outcome:
        """An outcome carrying what is known so far of this target."""
        chosen = self.selection
        return Outcome(
            target=self.target.id,
            outcome=kind,
            execution_id=self.execution_id,
            rerun_id=self.rerun_id,
            result=result,
            error=error,
            reason=reason if reason is not None else (chosen.reason or None) if chosen else None,
            re_run_type=chosen.re_run_type.value if chosen else None,
            flaky=flaky,
            still_failing=still_failing,
            adopted=self.adopted,
            polls=self.polls,
            rounds=self.rounds,
            tests=tests,
            quarantined=quarantined,
        )

    def observations(self, outcome: Outcome) -> tuple[Observation, ...]:
        """What the chain's runs read showed of each test, for the ledger."""
        return observations(self._runs, self._test_cases, outcome.tests)

    async def test_cases(self, run_id: int) -> TestCaseResults:
        """A run's test-case results, read once."""
        if run_id not in self._test_cases:
            self._test_cases[run_id] = await self._client.get_test_case_results(run_id)
        return self._test_cases[run_id]

    async def run(self) -> Outcome:
        """Everything for this target; API errors end it as ``error``.

        Raises:
            AuthError: The key was refused (the whole sweep stops).
            JournalError: The journal could not be written (the whole sweep stops).
        """
        try:
            return await self._run()
        except (AuthError, JournalError):
            raise
        except ApiError as exc:
            exc.target = self.target.id
            return self.outcome(OutcomeKind.ERROR, error=str(exc))
        except ValueError as exc:  # a strategy that cannot serve this target
            return self.outcome(OutcomeKind.ERROR, error=str(exc))
        except RerunorchError as exc:  # said as it is (e.g. a fleet claim another worker took)
            return self.outcome(OutcomeKind.ERROR, error=str(exc))
        except Exception as exc:  # a bug (ours or a plugin's) fails this target, not the sweep
            log.exception("target %d failed unexpectedly", self.target.id)
            return self.outcome(
                OutcomeKind.ERROR, error=f"internal error: {type(exc).__name__}: {exc}"
            )

    async def _run(self) -> Outcome:
        original = await self._client.get_run(self.target.id)
        self.execution_id = original.execution_id
        chain = self._runs = await self._chain(original)
        await self._resumed(chain)
        while True:
            head = chain[-1]
            if len(chain) > 1 and not head.completed:
                # A rerun is running (ours after a resume, an auto-rerun, another sweep's).
                if head.id != self.rerun_id:
                    await self._adopted(chain[-2].id, head.id)
                async with self._active.slot(priority=RUNNING):
                    ended = await self._follow(head.id, chain[-2], self.selection)
            else:
                step = await self._next(chain)
                if isinstance(step, Outcome):
                    return step
                ended = await self._round(head, step)
            if isinstance(ended, Outcome):
                return await self._so_far(chain, ended)
            if ended.id == head.id:
                chain[-1] = ended  # the running head, now finished
            else:
                chain.append(ended)

    async def _so_far(self, chain: list[ExecutionResult], ended: Outcome) -> Outcome:
        """A round that did not finish (timed out, stopped): the verdicts of the rounds before."""
        done = [run for run in chain if run.completed]
        if len(done) < 2 or ended.outcome is OutcomeKind.TRIGGERED:
            return ended
        tests = gather([(run.id, await self.test_cases(run.id)) for run in done])
        threshold = self._settings.threshold
        found = verdicts(
            tests, self._prior, threshold=threshold, bound=Bound.STOPPED, bounds=self._left_out
        )
        return attrs.evolve(
            ended,
            flaky=tuple(_ref(t) for t in found if t.verdict is Verdict.FLAKY),
            still_failing=tuple(_ref(t) for t in found if t.verdict in _STILL_FAILING),
            tests=found,
        )

    async def _resumed(self, chain: list[ExecutionResult]) -> None:
        """Pick up where a killed sweep left this target, if the journal says where."""
        entry = self._resume
        if entry is None or entry.head_id is None:
            return
        ids = [run.id for run in chain]
        if entry.state == State.TRIGGERED and entry.rerun_id is not None:
            # The rerun exists: follow it, never trigger it again.
            self.rounds, self.rerun_id, self.adopted = entry.round, entry.rerun_id, entry.adopted
            await self._on_triggered(
                RerunTriggered(target=self.target, rerun_id=entry.rerun_id, adopted=entry.adopted)
            )
        elif entry.state == State.TRIGGERING:
            # A POST may have gone out before the sweep died: the parent knows.
            at = ids.index(entry.head_id) if entry.head_id in ids else None
            if at is not None and at + 1 < len(chain):
                log.info("resumed %d: adopting %d", self.target.id, chain[at + 1].id)
                self.rounds = entry.round - 1
                await self._adopted(entry.head_id, chain[at + 1].id)
            else:
                self.rounds = entry.round - 1

    async def _adopted(self, parent_id: int, rerun_id: int) -> None:
        """Count a rerun that this sweep did not trigger (or cannot know that it did)."""
        self.rounds += 1
        self.rerun_id, self.adopted = rerun_id, True
        if self._journal is not None:
            await self._journal.triggered(self.target.id, parent_id, rerun_id, True, self.rounds)
        await self._on_triggered(
            RerunTriggered(target=self.target, rerun_id=rerun_id, adopted=True)
        )

    async def _next(self, chain: list[ExecutionResult]) -> Selection | Outcome:
        """What the next round reruns, or how the target ends (the strategy decides round 1)."""
        head = chain[-1]
        if self.rounds == 0:
            if self._stop.is_set():
                return self.outcome(OutcomeKind.INTERRUPTED, error="stopped before triggering")
            if len(chain) - 1 >= RERUN_CAP:  # Testsigma would refuse: report what is known
                tests = gather([(run.id, await self.test_cases(run.id)) for run in chain])
                return self._verdict(chain, tests, Bound.RERUN_CAP)
            ctx = DecisionContext(
                target=self.target, original=chain[0], run=head, test_cases=self.test_cases
            )
            decision = await self._strategy.decide(ctx)
            if isinstance(decision, Skip):
                return self.outcome(OutcomeKind.SKIPPED, reason=decision.reason)
            self.selection = decision = await self._without_broken(chain, decision)
            if not decision.test_case_result_requests and self._from_history:
                return self._verdict(chain, {}, None)  # every failure is known broken
            if self._settings.dry_run:
                plan = f"would rerun {head.id} ({decision.re_run_type.value}): {decision.reason}"
                return self.outcome(OutcomeKind.TRIGGERED, reason=plan)
            return decision
        tests = gather([(run.id, await self.test_cases(run.id)) for run in chain])
        settings = self._settings
        picks = next_round(tests, self._prior, head.id, threshold=settings.threshold)
        if not picks:
            return self._verdict(chain, tests, None)
        bound = self._bound(chain)
        if bound is None and settings.round_delay:
            await self._sleep_until(self._clock.monotonic() + settings.round_delay)
            bound = self._bound(chain)
        if bound is not None:
            return self._verdict(chain, tests, bound)
        if self._stop.is_set():
            return self._verdict(chain, tests, Bound.STOPPED, OutcomeKind.INTERRUPTED)
        picks = await self._strategy_picks(head, tests, picks)
        if not picks:
            return self._verdict(chain, tests, Bound.STRATEGY)
        selection = Selection(
            re_run_type=ReRunType.USER_PICKED,
            test_case_result_requests=picks,
            reason=f"round {self.rounds + 1}: {len(picks)} undecided test(s)",
        )
        estimate = expected_duration(head, _share(head, selection)) or 0.0
        if not self._budget.take(estimate):
            return self._verdict(chain, tests, Bound.BUDGET)
        self._estimate = estimate
        return selection

    async def _strategy_picks(
        self,
        head: ExecutionResult,
        tests: Mapping[object, TestEvidence],
        picks: tuple[TestCaseResultRequest, ...],
    ) -> tuple[TestCaseResultRequest, ...]:
        """The picks narrowed by the strategy's optional ``next_round`` (see RoundContext;
        it may be ``async``)."""
        decide = getattr(self._strategy, "next_round", None)
        if decide is None:
            return picks
        found = verdicts(tests, self._prior, threshold=self._settings.threshold)
        by_result = {
            test.head_result_id: verdict
            for test, verdict in zip(tests.values(), found, strict=True)
            if test.head_run_id == head.id and test.head_result_id is not None
        }
        ctx = RoundContext(
            target=self.target.id,
            round=self.rounds + 1,
            head_id=head.id,
            tests=found,
            picks=picks,
            picked={pick.id: by_result[pick.id] for pick in picks if pick.id in by_result},
        )
        chosen = decide(ctx)
        if inspect.isawaitable(chosen):
            chosen = await chosen
        if chosen is None:
            return picks
        allowed = {pick.id for pick in picks}
        narrowed = tuple(pick for pick in chosen if pick.id in allowed)
        kept = {pick.id for pick in narrowed}
        for key, test in tests.items():
            if test.head_run_id == head.id and test.head_result_id in allowed - kept:
                self._left_out[key] = Bound.STRATEGY
        return narrowed

    def _bound(self, chain: list[ExecutionResult]) -> Bound | None:
        """The first bound that forbids another round, if any."""
        settings = self._settings
        if self.rounds >= settings.max_rounds:
            return Bound.MAX_ROUNDS
        if len(chain) - 1 >= RERUN_CAP:
            return Bound.RERUN_CAP
        # --deadline is a time of day: the wall clock's, not the sweep's (scaled by --time-scale).
        if settings.deadline is not None and time.time() >= settings.deadline:
            return Bound.DEADLINE
        return None

    async def _round(
        self, head: ExecutionResult, selection: Selection
    ) -> ExecutionResult | Outcome:
        """Trigger one round exactly once (journalled first) and follow it to its end."""
        async with self._active.slot(priority=start_priority(head, selection)):
            if self._stop.is_set():
                self._budget.settle(self._estimate, 0.0)
                error = "stopped before triggering" + (" a new round" if self.rounds else "")
                return self.outcome(OutcomeKind.INTERRUPTED, error=error)
            number = self.rounds + 1
            if self._journal is not None:
                await self._journal.triggering(self.target.id, head.id, number)
            self.rerun_id, self.adopted = await self._trigger(head, selection)
            self.rounds = number
            if self._journal is not None:
                await self._journal.triggered(
                    self.target.id, head.id, self.rerun_id, self.adopted, number
                )
            await self._on_triggered(
                RerunTriggered(
                    target=self.target,
                    rerun_id=self.rerun_id,
                    adopted=self.adopted,
                    expected=expected_duration(head, _share(head, selection)),
                )
            )
            if not self._settings.wait:
                return self.outcome(OutcomeKind.TRIGGERED, reason=selection.reason)
            ended = await self._follow(self.rerun_id, head, selection)
            if isinstance(ended, ExecutionResult):
                self._budget.settle(self._estimate, _seconds(ended))
            self._estimate = 0.0
            return ended

    def _verdict(
        self,
        chain: list[ExecutionResult],
        tests: Mapping[object, TestEvidence],
        bound: Bound | None,
        kind: OutcomeKind | None = None,
    ) -> Outcome:
        """The target's end: each test's verdict over the chain."""
        settings = self._settings
        found = verdicts(
            tests, self._prior, threshold=settings.threshold, bound=bound, bounds=self._left_out
        )
        found = (*found, *self._from_history)
        held = self._quarantined(found)
        flaky = tuple(_ref(t) for t in found if t.verdict is Verdict.FLAKY and _ref(t) not in held)
        failing = tuple(
            _ref(t) for t in found if t.verdict in _STILL_FAILING and _ref(t) not in held
        )
        head = chain[-1]
        if kind is None:
            kind = OutcomeKind.PASSED if head.passed else OutcomeKind.FAILED
        return self.outcome(
            kind,
            result=head.result.value if head.result else None,
            error="sweep stopped between rounds" if kind is OutcomeKind.INTERRUPTED else None,
            flaky=flaky,
            still_failing=failing,
            tests=found,
            quarantined=held,
        )

    def _quarantined(self, found: tuple[TestVerdict, ...]) -> tuple[TestRef, ...]:
        """The tests the history quarantines, among those that did not pass."""
        if self._history is None:
            return ()
        return tuple(
            _ref(t)
            for t in found
            if t.verdict is not Verdict.PASSED
            and self._history.quarantined(t.test_case_id, t.test_case_name)
        )

    async def _without_broken(self, chain: list[ExecutionResult], chosen: Selection) -> Selection:
        """The first round without the tests broken for nights (history): not rerun again."""
        head = chain[-1]
        history = self._history
        if history is None or chosen.re_run_type not in _NARROWED:
            return chosen
        if not history.knows_broken(head.execution_id or self.execution_id):
            return chosen  # no request more than without history
        cases = (await self.test_cases(head.id)).test_cases
        broken = history.broken_failures(cases)
        if not broken:
            return chosen
        self._from_history = tuple(_known_broken(tc, flake, head.id) for tc, flake in broken)
        out = {tc.test_case_result_id for tc, _ in broken}
        if chosen.re_run_type is ReRunType.USER_PICKED:
            picks = tuple(p for p in chosen.test_case_result_requests or () if p.id not in out)
        else:
            picks = tuple(
                TestCaseResultRequest(id=tc.test_case_result_id)
                for tc in cases
                if tc.test_case_result_id is not None
                and tc.test_case_result_id not in out
                and Seen.of(tc.result) is not Seen.PASS
            )
        why = f"{len(broken)} test(s) broken for nights not rerun (--rerun-broken reruns them)"
        reason = f"{chosen.reason}; {why}" if chosen.reason else why
        return Selection(
            re_run_type=ReRunType.USER_PICKED, test_case_result_requests=picks, reason=reason
        )

    async def _chain(self, run: ExecutionResult) -> list[ExecutionResult]:
        """The runs from ``run`` to the newest of its chain."""
        chain = [run]
        seen = {run.id}
        while run.child_id is not None:
            child_id = run.child_id
            if child_id in seen:
                raise ValueError(f"the rerun chain of {self.target.id} loops at {child_id}")
            if len(seen) >= MAX_CHAIN:
                raise ValueError(
                    f"the rerun chain of {self.target.id} is longer than {MAX_CHAIN} runs "
                    f"(run {run.id} has yet another rerun, {child_id}): not followed further"
                )
            seen.add(child_id)
            run = await self._client.get_run(child_id)
            chain.append(run)
        return chain

    async def _trigger(self, head: ExecutionResult, selection: Selection) -> tuple[int, bool]:
        """POST the rerun exactly once; returns (rerun id, adopted)."""
        execution_id = head.execution_id or self.execution_id
        if execution_id is None:
            raise ValueError(f"run {head.id} has no executionId, so it cannot be rerun")
        request = RerunRequest(
            execution_id=execution_id,
            execution_result_id=head.id,
            re_run_type=selection.re_run_type,
            test_case_result_requests=selection.test_case_result_requests,
        )
        busy_waits = 0
        attempts = 0
        while True:
            attempts += 1
            try:
                return (await self._client.trigger_rerun(request)).id, False
            except RerunAlreadyExists:
                child = await self._existing_child(head.id)
                if child is None:
                    raise
                return child, True
            except (OutcomeUnknown, ServerError) as exc:
                # Did the POST take effect? The parent knows.
                child = await self._existing_child(head.id)
                if child is not None:
                    log.info("rerun of %d was created despite %s; adopting %d", head.id, exc, child)
                    return child, True
                if attempts >= self._settings.max_trigger_attempts:
                    raise
            except (RateLimited, RequestNotSent):
                # The client already waited and retried these; they never took effect.
                if attempts >= self._settings.max_trigger_attempts:
                    raise
            except PlanBusy:
                busy_waits += 1
                attempts -= 1
                if busy_waits > self._settings.plan_busy_retries:
                    raise
                wait = self._settings.plan_busy_wait * 2 ** (busy_waits - 1)
                await self._clock.sleep(wait * self._rng.uniform(0.8, 1.2))

    async def _existing_child(self, parent_id: int) -> int | None:
        return (await self._client.get_run(parent_id)).child_id

    async def _follow(
        self, rerun_id: int, parent: ExecutionResult, selection: Selection | None
    ) -> ExecutionResult | Outcome:
        """Poll until the rerun completes (its run), the deadline passes or the grace ends."""
        settings = self._settings
        clock = self._clock
        started = clock.monotonic()
        deadline = started + settings.timeout if settings.timeout else None
        timer = PollTimer(
            settings.poll, started, expected_duration(parent, _share(parent, selection)), self._rng
        )
        while True:
            now = clock.monotonic()
            wake = now + timer.next_delay(now)
            for limit in (deadline, self._grace_deadline()):
                if limit is not None:
                    wake = min(wake, limit)
            await self._sleep_until(wake)
            run = await self._client.get_run(rerun_id)
            now = clock.monotonic()
            timer.observe(run, now)
            self.polls = timer.polls
            if run.completed:
                if self._on_ended is not None:
                    self._on_ended(run)
                return run
            grace = self._grace_deadline()
            if grace is not None and now >= grace:
                return self.outcome(OutcomeKind.INTERRUPTED, error="sweep stopped while running")
            if deadline is not None and now >= deadline:
                return await self._timed_out(run)

    async def _sleep_until(self, wake: float) -> None:
        """Sleep until ``wake``, or until the end of the grace period once a stop comes."""
        if not self._stop.is_set():
            async with anyio.create_task_group() as tg:

                async def cancel_on_stop() -> None:
                    await self._stop.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(cancel_on_stop)
                await self._clock.sleep(wake - self._clock.monotonic())
                tg.cancel_scope.cancel()
        grace = self._grace_deadline()
        if grace is not None:
            await self._clock.sleep(min(wake, grace) - self._clock.monotonic())

    async def _timed_out(self, run: ExecutionResult) -> Outcome:
        status = run.status.value if run.status else "unknown status"
        error = f"rerun {run.id} still {status} after {self._settings.timeout:g}s"
        if self._settings.stop_on_timeout:
            try:
                await self._client.stop_run(run.id)
                error += "; stopped it on the server"
            except ApiError as exc:
                error += f"; could not stop it: {exc}"
        return self.outcome(OutcomeKind.TIMED_OUT, error=error)


def _seconds(run: ExecutionResult) -> float:
    """How long a finished run took, in seconds (0 when the server does not say)."""
    millis = run.duration
    if millis is None and run.start_time is not None and run.end_time is not None:
        millis = run.end_time - run.start_time
    return max(millis or 0, 0) / 1000.0


def _ref(test: TestVerdict) -> TestRef:
    return TestRef(test.test_case_id, test.test_case_name)


_NARROWED = (ReRunType.ONLY_FAILED_TESTS, ReRunType.USER_PICKED)


def _known_broken(tc: TestCaseResult, flake: TestFlake, run_id: int) -> TestVerdict:
    """The verdict history gives a test broken for nights: it failed again tonight."""
    return TestVerdict(
        test_case_id=tc.test_case_id,
        test_case_name=tc.test_case_name,
        verdict=Verdict.BROKEN,
        runs=1,
        failures=1,
        p_broken=flake.p_broken,
        run_ids=(run_id,),
    )


_STILL_FAILING = (Verdict.BROKEN, Verdict.UNDECIDED, Verdict.NOT_RUN)
