"""The simulated server's state: seeded runs, the reruns made since, stops and chains."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

from .active import ActiveRuns
from .config import SimulatorConfig
from .dataset import Dataset, unit
from .errors import ApiError
from .ids import IdLayout
from .model import STOPPED, SUCCESS, Case, Iteration, Run, Suite
from .selection import Pick, select
from .stats import StatsRecorder
from .timeline import RunView, view
from .validation import FreshRunRequest, RerunRequest

__all__ = ["PLAN_BUSY", "SimState"]

log = logging.getLogger(__name__)

PLAN_BUSY = "The specified Test Plan is currently running. Please try again after it completes."
DUPLICATE = "ReRun Parent Id Already Exists"


class SimState:
    """Runs and chains; every question is answered for a clock time ``now`` (epoch seconds)."""

    def __init__(
        self, config: SimulatorConfig, layout: IdLayout, dataset: Dataset, stats: StatsRecorder
    ) -> None:
        self._config = config
        self._layout = layout
        self._dataset = dataset
        self._stats = stats
        self._ids = layout.counter()
        self._runs: dict[int, Run] = {}
        self._children: dict[int, int] = {}
        self._stops: dict[int, float] = {}
        self._active = ActiveRuns()

    def get(self, run_id: int) -> Run | None:
        """The run ``run_id``, or None if there is none."""
        run = self._runs.get(run_id)
        if run is None:
            index = self._layout.run_index(run_id)
            if index is not None:
                run = self._dataset.original(index)
        return run

    def require(self, run_id: int) -> Run:
        """The run ``run_id``.

        Raises:
            ApiError: 404 if there is none.
        """
        run = self.get(run_id)
        if run is None:
            raise ApiError(404, f"Execution result with id {run_id} not found")
        return run

    def view(self, run: Run, now: float) -> RunView:
        """How ``run`` looks at ``now``."""
        return view(run, now, self._stops.get(run.id))

    def child_of(self, run: Run, now: float) -> int | None:
        """The id of ``run``'s rerun, making the server's auto-rerun if it is due."""
        child = self._children.get(run.id)
        if child is None and self._config.auto_rerun:
            child = self._auto_rerun(run, now)
        return child

    def descendants(self, run: Run, now: float) -> Iterator[Run]:
        """The runs of the chain after ``run``, oldest first."""
        child = self.child_of(run, now)
        while child is not None:
            run = self.require(child)
            yield run
            child = self.child_of(run, now)

    def chain(self, run: Run, now: float) -> list[Run]:
        """The whole chain ``run`` belongs to, from its first run to its head."""
        root = run if run.root_id == run.id else self.require(run.root_id)
        return [root, *self.descendants(root, now)]

    def rerun(self, request: RerunRequest, now: float) -> tuple[Run, list[Pick]]:
        """Check a rerun request; answer the parent and what to rerun (nothing is created).

        Raises:
            ApiError: 404 unknown run; 400 wrong plan, run not completed, too many reruns or
                bad selection; 500 "ReRun Parent Id Already Exists".
        """
        parent = self.require(request.execution_result_id)
        if parent.execution_id != request.execution_id:
            raise ApiError(
                400,
                f"Execution result {parent.id} does not belong to execution {request.execution_id}",
            )
        if self.child_of(parent, now) is not None:
            raise ApiError(500, DUPLICATE)
        if parent.depth >= self._config.max_reruns_per_run:
            raise ApiError(
                400,
                f"Execution result {parent.id} cannot be rerun: the maximum of "
                f"{self._config.max_reruns_per_run} reruns per run has been reached",
            )
        current = self.view(parent, now)
        if not current.completed:
            raise ApiError(
                400,
                f"Execution result {parent.id} cannot be rerun before it completes "
                f"(status {current.status})",
            )
        return parent, select(parent, current.cases, request)

    def check_capacity(self, now: float) -> None:
        """Raise if the account's cap on active runs is reached.

        Raises:
            ApiError: 500 with a "parallel execution limit" message.
        """
        cap = self._config.max_active_runs
        if cap is not None and self._active.count(now) >= cap:
            raise ApiError(
                500,
                f"Parallel execution limit reached: {cap} test plan runs are already in "
                "progress for this account. Please try again once one of them completes.",
            )

    def create_rerun(
        self, parent: Run, picks: list[Pick], now: float, *, auto: bool = False
    ) -> Run:
        """Make ``parent``'s child rerunning ``picks``, created at ``now``."""
        ids = self._ids
        run_id = next(ids)
        cases = tuple(
            # The draw is keyed by the rerun's place in its chain, not by its id (which depends on
            # the order reruns are created): a seed then repeats, and sweeps of one seed with
            # different policies see the same draws at the same depth.
            self._rerun_case(case, iterations, next(ids), f"{parent.root_id}:{parent.depth + 1}")
            for case, iterations in picks
        )
        noise = 0.8 + 0.4 * unit(self._config.seed, "duration", parent.id)
        share = _weight(cases) / _weight(parent.cases)
        low, high = self._config.run_duration
        run = Run(
            id=run_id,
            execution_id=parent.execution_id,
            created_at=now,
            duration=min(high, max(low, parent.duration * share * noise)),
            cases=cases,
            suites=tuple(Suite(s.id, s.name, next(ids)) for s in parent.suites),
            machine_id=parent.machine_id,
            machine_title=parent.machine_title,
            machine_result_id=next(ids),
            parent_id=parent.id,
            root_id=parent.root_id,
            depth=parent.depth + 1,
            triggered_type="SCHEDULED" if auto else "API",
            build_no=parent.build_no,
            auto=auto,
        )
        self._children[parent.id] = run.id
        self._add(run, now)
        if auto:
            self._stats.auto_reruns_created += 1
        else:
            self._stats.reruns_created += 1
        log.debug("rerun %d of %d created (%d cases)", run.id, parent.id, len(cases))
        return run

    def fresh_run(self, request: FreshRunRequest, now: float) -> Run:
        """Start a new run of a plan.

        Raises:
            ApiError: 404 unknown plan; 500 if the plan has a run in progress.
        """
        index = self._layout.plan_index(request.execution_id)
        if index is None:
            raise ApiError(404, f"Execution with id {request.execution_id} not found")
        if self._active.plan_busy(request.execution_id, now):
            raise ApiError(500, PLAN_BUSY)
        self.check_capacity(now)
        first = self._dataset.original(index)
        ids = self._ids
        run_id = next(ids)
        noise = 0.8 + 0.4 * unit(self._config.seed, "fresh", run_id)
        run = Run(
            id=run_id,
            execution_id=first.execution_id,
            created_at=now,
            duration=first.duration * noise,
            cases=tuple(self._rerun_case(c, c.iterations, next(ids), run_id) for c in first.cases),
            suites=tuple(Suite(s.id, s.name, next(ids)) for s in first.suites),
            machine_id=first.machine_id,
            machine_title=first.machine_title,
            machine_result_id=next(ids),
            root_id=run_id,
            build_no=request.build_no,
        )
        self._add(run, now)
        self._stats.runs_created += 1
        return run

    def stop(self, run_id: int, now: float) -> Run:
        """Stop a run (a completed one is left as it is).

        Raises:
            ApiError: 404 unknown run.
        """
        run = self.require(run_id)
        if not self.view(run, now).completed:
            self._stops[run.id] = now
            self._active.remove(run.id)
        return run

    def truth(self, run: Run) -> dict[int, str]:
        """``testCaseId`` -> what it is: flaky, broken or passed (see :meth:`fail_rates`)."""
        final = view(run, float("inf"), self._stops.get(run.id))
        truth: dict[int, str] = {}
        for case, result in zip(run.cases, final.cases, strict=True):
            if result == SUCCESS:
                truth[case.test_case_id] = "passed"
                continue
            if case.data_driven:
                failed = [it for it in case.iterations if it.result != SUCCESS or result == STOPPED]
                fixed = all(
                    self._dataset.fail_rate(case.test_case_id, it.set_name) < 1 for it in failed
                )
            else:
                fixed = self._dataset.fail_rate(case.test_case_id, None) < 1
            truth[case.test_case_id] = "flaky" if fixed else "broken"
        return truth

    def fail_rates(self, run: Run) -> dict[int, float]:
        """``testCaseId`` -> its true chance of failing a rerun (1: broken; 0: passed)."""
        final = view(run, float("inf"), self._stops.get(run.id))
        rates: dict[int, float] = {}
        for case, result in zip(run.cases, final.cases, strict=True):
            if result == SUCCESS:
                rates[case.test_case_id] = 0.0
            elif case.data_driven:
                failed = [it for it in case.iterations if it.result != SUCCESS]
                fail_rate = self._dataset.fail_rate
                chances = [fail_rate(case.test_case_id, it.set_name) for it in failed]
                rates[case.test_case_id] = 1 - math.prod(1 - c for c in chances) if chances else 0.0
            else:
                rates[case.test_case_id] = self._dataset.fail_rate(case.test_case_id, None)
        return rates

    def _add(self, run: Run, now: float) -> None:
        self._runs[run.id] = run
        active = self._active.add(run.id, run.execution_id, run.end, now)
        self._stats.active_runs_peak = max(self._stats.active_runs_peak, active)

    def _rerun_case(
        self, case: Case, iterations: tuple[Iteration, ...], result_id: int, trial: object
    ) -> Case:
        rerun = self._dataset.rerun_result
        new = tuple(
            Iteration(
                id=next(self._ids),
                set_name=it.set_name,
                result=rerun(case.test_case_id, it.set_name, it.base, trial),
                base=it.base,
            )
            for it in iterations
        )
        if case.data_driven:
            result = next((it.result for it in new if it.result != SUCCESS), SUCCESS)
        else:
            result = rerun(case.test_case_id, None, case.base, trial)
        return Case(
            test_case_id=case.test_case_id,
            name=case.name,
            result_id=result_id,
            suite=case.suite,
            data_driven=case.data_driven,
            iterations=new,
            result=result,
            base=case.base,
        )

    def _auto_rerun(self, run: Run, now: float) -> int | None:
        config = self._config
        if run.auto or run.depth >= config.max_reruns_per_run or run.id in self._stops:
            return None
        due = run.end + config.auto_rerun_delay
        if now < due or all(case.result == SUCCESS for case in run.cases):
            return None
        failed = [(c, c.iterations) for c in run.cases if c.result != SUCCESS]
        child = self.create_rerun(run, failed, due, auto=True)
        log.debug("auto-rerun %d of %d", child.id, run.id)
        return child.id


def _weight(cases: tuple[Case, ...]) -> int:
    return sum(max(1, len(case.iterations)) for case in cases) or 1
