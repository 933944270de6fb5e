"""Finding the runs to sweep: the run index, page by page, each run taken or left out.

A :class:`RunDiscovery` is called with the sweep's client and gives an async
iterator of :class:`~rerunorch.targets.Target`: each page is fetched (through
the client's pacer) only when the sweep has taken the runs of the one before,
so memory stays flat however many runs the index holds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable

import attrs

from rerunorch.api.client import INDEX_PATH, TestsigmaClient
from rerunorch.api.enums import result_passed
from rerunorch.api.models import RunSummary
from rerunorch.discovery.query import Criterion, Query
from rerunorch.discovery.window import Window, epoch_seconds, iso
from rerunorch.errors import ConfigError
from rerunorch.targets import MAX_ID, Target

__all__ = ["DEFAULT_MAX_PAGES", "DEFAULT_PAGE_SIZE", "Finding", "RunDiscovery", "decide"]

_ANY_TIME = Window()

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_PAGES = 10_000
_PENDING = frozenset({"QUEUED", "RUNNING"})


@attrs.frozen
class Finding:
    """One run of the index and what discovery made of it."""

    run: RunSummary
    taken: bool
    why: str

    def line(self) -> str:
        """``run 517 (plan 420, started ...): taken: did not pass (FAILURE)``."""
        started = epoch_seconds(self.run.start_time)
        when = f", started {iso(started)}" if started is not None else ""
        verdict = "taken" if self.taken else "left out"
        plan = "?" if self.run.plan_id is None else self.run.plan_id
        return f"run {self.run.id} (plan {plan}{when}): {verdict}: {self.why}"


def decide(
    run: RunSummary, plans: frozenset[int] | None, window: tuple[float | None, float | None]
) -> Finding:
    """Whether ``run`` is swept: an original run, of a plan asked for, started in the
    window, finished and not passed."""
    start, end = window
    if not 1 <= run.id <= MAX_ID:
        return Finding(run, False, "its id is not a valid execution-result id")
    if run.re_run_parent_id is not None:
        return Finding(run, False, f"a rerun (of {run.re_run_parent_id}), not an original run")
    if plans is not None and run.plan_id not in plans:
        return Finding(run, False, f"plan {run.plan_id} was not asked for")
    if start is not None or end is not None:
        started = epoch_seconds(run.start_time)
        if started is None:
            return Finding(run, False, "its start time is not known")
        if start is not None and started < start:
            return Finding(run, False, f"started before the window ({iso(start)})")
        if end is not None and started >= end:
            return Finding(run, False, f"started after the window ({iso(end)})")
    return _by_result(run)


def _by_result(run: RunSummary) -> Finding:
    result = run.result
    if result is None or result.value in _PENDING or (run.status and not run.status.final):
        return Finding(run, False, f"not finished ({result or run.status or 'no result'})")
    if result_passed(result):
        return Finding(run, False, f"passed ({result})")
    return Finding(run, True, f"did not pass ({result})")


@attrs.frozen(kw_only=True)
class RunDiscovery:
    """The runs to sweep, from plans and a window or a raw query.

    Args:
        query: Testsigma's query (criteria of plans and times are added by :meth:`of`).
        window: The exact window (the server's ``startTime>`` with a date takes the whole day).
        plans: The plans asked for (None: whatever the query lists).
        index_path: The run index (``/api/v1/test_plan_results`` on the open-source server).
        page_size: Runs asked for per page.
        max_pages: Pages read at most (the rest is noted, not swept).
        on_finding: Told of each run found (a dry run lists them).

    Attributes:
        counts: How many runs were taken or left out, by reason (after the sweep).
    """

    query: Query
    window: Window = _ANY_TIME
    plans: frozenset[int] | None = None
    index_path: str = INDEX_PATH
    page_size: int = DEFAULT_PAGE_SIZE
    max_pages: int = DEFAULT_MAX_PAGES
    on_finding: Callable[[Finding], None] | None = attrs.field(default=None, eq=False)
    counts: Counter[str] = attrs.field(factory=Counter, eq=False, repr=False)
    truncated: list[int] = attrs.field(factory=list, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        path = self.index_path
        if not path.startswith("/") or not path.isascii() or any(c in path for c in "?# "):
            raise ConfigError(f"--index-path must be a path like {INDEX_PATH}, not {path[:80]!r}")
        if not 1 <= self.page_size <= 10_000 or self.max_pages < 1:
            raise ConfigError("--page-size must be 1 to 10000 and the page cap at least 1")

    @classmethod
    def of(
        cls,
        *,
        plans: frozenset[int] = frozenset(),
        window: Window = _ANY_TIME,
        query: Query | None = None,
        index_path: str = INDEX_PATH,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> RunDiscovery:
        """A discovery of ``plans`` (``testPlanId@...``) in ``window`` (``startTime>`` its day).

        Raises:
            ConfigError: Neither plans, a window nor a query is given, or a bad
                ``index_path`` or page size.
        """
        if not plans and query is None and window.since is None:
            raise ConfigError("discovery needs --plan, --since or --query")
        base = query or Query(())
        chosen = base.plans()
        criteria: list[Criterion] = []
        if plans:
            criteria.append(Criterion("testPlanId", "@", tuple(map(str, sorted(plans)))))
            chosen = plans if chosen is None else chosen & plans
        return cls(
            query=base.and_(*criteria),
            window=window,
            plans=chosen,
            index_path=index_path,
            page_size=page_size,
            max_pages=max_pages,
        )

    def fingerprint(self) -> str:
        """What a journal records of this discovery (to resume the same command)."""
        return f"discovery|{self.query}|{self.window}|{self.index_path}"

    def sent_query(self, now: float) -> str:
        """The query sent: with ``startTime>`` the window's first day (the server takes days)."""
        start, _ = self.window.resolve(now)
        query = self.query
        if start is not None:
            query = query.and_(Criterion("startTime", ">", (iso(start)[:10],)))
        return str(query)

    def __call__(self, client: TestsigmaClient) -> AsyncIterator[Target]:
        return self._targets(client)

    async def _targets(self, client: TestsigmaClient) -> AsyncIterator[Target]:
        window = self.window.resolve(client.clock.time())
        async for run in self._runs(client):
            finding = decide(run, self.plans, window)
            self.counts[("taken: " if finding.taken else "left out: ") + _kind(finding.why)] += 1
            if self.on_finding is not None:
                self.on_finding(finding)
            if finding.taken:
                yield Target(run.id)

    async def _runs(self, client: TestsigmaClient) -> AsyncIterator[RunSummary]:
        query = self.sent_query(client.clock.time())
        read = 0
        for number in range(self.max_pages):
            page = await client.list_runs(
                query, page=number, page_size=self.page_size, path=self.index_path
            )
            for run in page.runs:
                yield run
            read += len(page.runs)
            if not page.runs or page.last or (page.total is not None and read >= page.total):
                return
        log.warning("the run index has more than %d pages: the rest is not swept", self.max_pages)
        self.truncated.append(self.max_pages)

    def notes(self) -> list[str]:
        """What the report says of the discovery: the counts, and a cap reached."""
        if not self.counts:
            return [f"discovery found no runs (query {str(self.query)[:200]!r})"]
        found = sum(self.counts.values())
        parts = ", ".join(f"{n} {why}" for why, n in sorted(self.counts.items()))
        notes = [f"discovery: {found} runs found ({parts})"]
        if self.truncated:
            notes.append(f"discovery stopped after {self.max_pages} pages: later runs not swept")
        return notes


def _kind(why: str) -> str:
    """A reason without its particulars, for counting (``passed (SUCCESS)`` -> ``passed``)."""
    return why.split(" (", 1)[0]
