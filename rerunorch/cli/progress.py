"""Showing a sweep as it runs: a live panel on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from types import TracebackType

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from rerunorch.engine import Sweep
from rerunorch.events import RequestsPaused, RerunFinished, RerunTriggered, SweepListener
from rerunorch.report.digest import Listing, TestLine, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import one_line

__all__ = ["LiveProgress", "PlainProgress", "summary_table"]


class PlainProgress(SweepListener):
    """One plain line per state change, for CI logs (no control characters)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        verb = "adopted running" if event.adopted else "triggered"
        click.echo(f"{event.target.id}: {verb} rerun {event.rerun_id}", err=True)

    async def rerun_finished(self, event: RerunFinished) -> None:
        outcome = event.outcome
        self.done += 1
        parts = [outcome.outcome.value]
        if outcome.rerun_id is not None:
            parts.append(f"rerun {outcome.rerun_id}")
        if outcome.flaky:
            parts.append(f"{len(outcome.flaky)} flaky")
        if outcome.still_failing:
            parts.append(f"{len(outcome.still_failing)} still failing")
        detail = outcome.error or outcome.reason
        line = f"[{self.done}/{self.total}] {outcome.target}: {', '.join(parts)}"
        click.echo(line + (f" ({detail})" if detail else ""), err=True)

    async def rate_limited(self, event: RequestsPaused) -> None:
        click.echo(
            f"rate limited: every request waits {event.wait:.1f}s ({event.reason})", err=True
        )


class LiveProgress(SweepListener):
    """A live panel (rich) of queued, triggered, running and done targets, waits and rate."""

    def __init__(self, sweep: Sweep, total: int, console: Console) -> None:
        self._sweep = sweep
        self._total = total
        self._samples: list[tuple[float, int]] = []
        self._live = Live(
            console=console, refresh_per_second=4, transient=True, get_renderable=self._render
        )

    def __enter__(self) -> LiveProgress:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.__exit__(exc_type, exc, tb)

    def _rate(self) -> float:
        now, sent = time.monotonic(), self._sweep.client.counters.requests
        self._samples.append((now, sent))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.pop(0)
        t0, s0 = self._samples[0]
        return (sent - s0) / (now - t0) if now > t0 else 0.0

    def _render(self) -> Table:
        p = self._sweep.progress
        table = Table.grid(padding=(0, 2))
        table.add_row(
            f"[bold]queued[/] {max(self._total - p.started, 0)}",
            f"[bold]triggered[/] {p.triggered}",
            f"[bold]running[/] {p.running}",
            f"[bold]done[/] {p.done}/{self._total}",
            f"[bold]rate-limit waits[/] {p.rate_limited_waits}",
            f"[bold]req/s[/] {self._rate():.1f}",
        )
        if self._sweep.stopping:
            table.add_row("[yellow]stopping: no new reruns (Ctrl-C again to quit now)[/]")
        return table


def summary_table(report: SweepReport, *, max_tests: int = 20) -> Group:
    """The end-of-sweep summary: the digest's counts, then the flaky and still-failing
    tests, at most ``max_tests`` of each (the rest are counted as "... and N more").

    Raises:
        ValueError: ``max_tests`` is negative.
    """
    if max_tests < 0:
        raise ValueError(f"max_tests must be 0 or more, not {max_tests}")
    story = digest(report, max_items=max_tests)
    counts = Table(title="rerunorch sweep", show_header=False, title_justify="left")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    for count in story.counts:
        counts.add_row(count.label, str(count.value))
    parts: list[Table | Text] = [counts]
    for title, tests in (("flaky tests", story.flaky), ("still failing", story.failing)):
        if tests.total:
            parts += _tests_table(f"{title} ({tests.total})", tests)
    return Group(*parts)


def _tests_table(title: str, tests: Listing[TestLine]) -> list[Table | Text]:
    more = [Text(f"... and {tests.more} more")] if tests.more else []
    if not tests.items:
        return [Text(title), *more]
    table = Table(title=title, title_justify="left")
    for column in ("test", "test case", "run", "rerun"):
        table.add_column(column, justify="left" if column == "test" else "right")
    for test in tests.items:
        ids = (
            "" if value is None else str(value)
            for value in (test.test_case_id, test.run, test.rerun)
        )
        table.add_row(Text(_test_name(test)), *ids)  # Text: a name's [brackets] are not markup
    return [table, *more]


def _test_name(test: TestLine) -> str:
    if test.name:
        return one_line(test.name)
    return "(tests not known)" if test.test_case_id is None else "(no name)"
