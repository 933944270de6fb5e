"""Showing a sweep as it runs: a live bar on a terminal, plain lines elsewhere; and its summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from rerunorch.cli.summary import DEFAULT_APP_URL, by_run, count_groups, run_link
from rerunorch.clock import Clock, SystemClock
from rerunorch.engine import Sweep
from rerunorch.events import RequestsPaused, RerunFinished, RerunTriggered, SweepListener
from rerunorch.outcome import Outcome
from rerunorch.report.digest import Listing, TestLine, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import duration_text, one_line

__all__ = ["LiveProgress", "PlainProgress", "finished_line", "summary_table", "time_left"]

_NO_ETA = "-:--:--"


def finished_line(outcome: Outcome, done: int, total: int | None) -> str:
    """``"[3/10] 467: failed, rerun 2001, 2 still failing (why)"``: one target that ended
    (``"[3] ..."`` when the total is not known: ``total`` 0 or None)."""
    parts = [outcome.outcome.value]
    if outcome.rerun_id is not None:
        parts.append(f"rerun {outcome.rerun_id}")
    if outcome.flaky:
        parts.append(f"{len(outcome.flaky)} flaky")
    if outcome.still_failing:
        parts.append(f"{len(outcome.still_failing)} still failing")
    detail = outcome.error or outcome.reason
    count = f"{done}/{total}" if total else str(done)
    line = f"[{count}] {outcome.target}: {', '.join(parts)}"
    return line + (f" ({detail})" if detail else "")


def time_left(now: float, ends: list[float], queued: int, slots: int, typical: float) -> float:
    """Seconds until the last rerun ends: the running ones end when expected (``ends``), and
    the ``queued`` ones take ``typical`` seconds each, started as ``slots`` free up.

    >>> time_left(0.0, [60.0, 120.0], queued=3, slots=2, typical=100.0)
    260.0
    """
    slots = max(slots, 1, len(ends))
    free = sorted([*(max(end, now) for end in ends), *([now] * (slots - len(ends)))])
    waves, extra = divmod(queued, slots)
    last = max((end + (waves + (i < extra)) * typical for i, end in enumerate(free)), default=now)
    return max(last - now, 0.0)


class PlainProgress(SweepListener):
    """One plain line per state change, for CI logs (no control characters).

    ``total`` is 0 (or None) when the sweep finds its targets itself: lines count ``[n]``.
    """

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        verb = "adopted running" if event.adopted else "triggered"
        click.echo(f"{event.target.id}: {verb} rerun {event.rerun_id}", err=True)

    async def rerun_finished(self, event: RerunFinished) -> None:
        self.done += 1
        click.echo(finished_line(event.outcome, self.done, self.total), err=True)

    async def rate_limited(self, event: RequestsPaused) -> None:
        click.echo(
            f"rate limited: every request waits {event.wait:.1f}s ({event.reason})", err=True
        )


class LiveProgress(SweepListener):
    """On a terminal: a bar with the elapsed time and an ETA, the reruns running longest,
    the sweep's counters, and a line above the bar for each target that ends.

    The ETA is when the last rerun should end: each running one at its expected end
    (:attr:`RerunTriggered.expected`, the poller's estimate; else as long as the reruns
    that have ended took), the queued ones after them as ``--max-active`` slots free up.

    It fits 80 columns. Listen with it, and show it while the sweep runs::

        live = LiveProgress(total, console)
        sweep = Sweep(targets, settings, api_key=key, listener=[live])
        with live.showing(sweep):
            await sweep.run()

    Args:
        total: How many targets the sweep takes; 0 or None when not known (the sweep
            finds them): the bar is then indeterminate, with a count and no ETA.
        console: Where it is drawn (standard error).
        longest: How many of the reruns running longest are listed.
    """

    def __init__(self, total: int | None, console: Console, *, longest: int = 3) -> None:
        self._total = total or None
        self._console = console
        self._longest = longest
        self._done = 0
        self._running: dict[int, tuple[int, float, float | None]] = {}  # (rerun, since, expected)
        self._ended = (0, 0.0)  # reruns ended, and their time in all
        self._samples: list[tuple[float, int]] = []
        self._sweep: Sweep | None = None
        self._clock: Clock = SystemClock()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn() if self._total else TextColumn("{task.completed}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            auto_refresh=False,
            get_time=lambda: self._clock.monotonic(),
        )
        self._task: TaskID = self._bar.add_task(
            "sweeping", total=self._total, start=False, eta=_NO_ETA
        )
        self._started: float | None = None

    @contextmanager
    def showing(self, sweep: Sweep) -> Iterator[LiveProgress]:
        """Draw the progress of ``sweep`` (live, a few times a second) inside the block."""
        self.watch(sweep)
        with Live(
            console=self._console,
            refresh_per_second=4,
            transient=True,
            get_renderable=self.render,
        ):
            yield self

    def watch(self, sweep: Sweep) -> None:
        """Read the counters and the time of ``sweep`` from now on (its clock starts the bar)."""
        self._sweep = sweep
        self._clock = sweep.clock
        self._started = sweep.clock.monotonic()
        self._bar.start_task(self._task)

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self._running[event.target.id] = (event.rerun_id, self._clock.monotonic(), event.expected)

    async def rerun_finished(self, event: RerunFinished) -> None:
        self._done += 1
        running = self._running.pop(event.outcome.target, None)
        if running is not None:
            count, spent = self._ended
            self._ended = (count + 1, spent + self._clock.monotonic() - running[1])
        self._bar.update(self._task, completed=self._done)
        line = finished_line(event.outcome, self._done, self._total)
        self._console.print(Text(line, no_wrap=True, overflow="ellipsis"))

    def render(self) -> RenderableType:
        """What the terminal shows now: the bar, the reruns running longest, the counters."""
        stopping = self._sweep is not None and self._sweep.stopping
        description = "[yellow]stopping[/]" if stopping else "sweeping"
        self._bar.update(self._task, description=description, eta=self._eta())
        lines: list[RenderableType] = [self._bar.get_renderable()]
        lines += self._longest_running()
        lines.append(self._counters())
        return Group(*lines)

    def _eta(self) -> str:
        """The time left: see :func:`time_left`; at the pace since the start while no
        rerun's length is known yet."""
        if self._started is None or self._total is None:
            return _NO_ETA
        now = self._clock.monotonic()
        running = list(self._running.copy().values())  # drawn from a thread of its own
        count, spent = self._ended
        known = [expected for _, _, expected in running if expected is not None]
        typical = spent / count if count else (sum(known) / len(known) if known else None)
        if typical is not None:
            ends = [since + (typical if e is None else e) for _, since, e in running]
            queued = max(self._total - self._done - len(running), 0)
            settings = self._sweep.settings if self._sweep is not None else None
            slots = (settings.max_active or settings.effective_window) if settings else 1
            left = time_left(now, ends, queued, slots, typical)
        elif self._done:
            elapsed = now - self._started
            left = elapsed / self._done * max(self._total - self._done, 0)
        else:
            return _NO_ETA
        minutes, seconds = divmod(int(left + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}"

    def _longest_running(self) -> list[Text]:
        now = self._clock.monotonic()
        # A copy: the terminal is drawn from a thread of its own while events come in.
        oldest = sorted(self._running.copy().items(), key=lambda item: item[1][1])[: self._longest]
        rows = [
            Text(
                f"  {target} → rerun {rerun}: running {duration_text(now - since)}"
                + (f" of ~{duration_text(expected)}" if expected else ""),
                no_wrap=True,
                overflow="ellipsis",
            )
            for target, (rerun, since, expected) in oldest
        ]
        more = len(self._running) - len(rows)
        if more > 0:
            rows.append(Text(f"  ... and {more} more running"))
        return rows

    def _counters(self) -> Text:
        if self._sweep is None:
            return Text("")
        p = self._sweep.progress
        queued = [] if self._total is None else [f"queued {max(self._total - p.started, 0)}"]
        parts = [
            *queued,
            f"triggered {p.triggered}",
            f"running {p.running}",
            f"rate-limit waits {p.rate_limited_waits}",
            f"{self._rate():.1f} req/s",
        ]
        return Text(" · ".join(parts), style="dim", no_wrap=True, overflow="ellipsis")

    def _rate(self) -> float:
        assert self._sweep is not None
        now, sent = time.monotonic(), self._sweep.client.counters.requests
        self._samples.append((now, sent))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.pop(0)
        t0, s0 = self._samples[0]
        return (sent - s0) / (now - t0) if now > t0 else 0.0


def summary_table(
    report: SweepReport, *, max_tests: int | None = 20, app_url: str = DEFAULT_APP_URL
) -> Group:
    """The end-of-sweep summary: the digest's counts (runs, tests and requests apart), then
    the still-failing tests and the flaky ones, grouped by run with a link to each run's page
    (``app_url``), each with its verdict's evidence; at most ``max_tests`` of each (None:
    all; the rest are counted as "... and N more").

    Raises:
        ValueError: ``max_tests`` is negative.
    """
    if max_tests is not None and max_tests < 0:
        raise ValueError(f"max_tests must be 0 or more, not {max_tests}")
    story = digest(report, max_items=sys.maxsize if max_tests is None else max_tests)
    counts = Table(title="rerunorch sweep", show_header=False, title_justify="left")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    for group in count_groups(story.counts):
        for count in group.counts:
            counts.add_row(count.label, str(count.value))
        counts.add_section()  # runs, tests and requests apart
    parts: list[RenderableType] = [counts]
    listings = (
        ("tests still failing", "bold red", story.failing),
        ("flaky tests", "yellow", story.flaky),
    )
    for title, style, tests in listings:
        if tests.total:
            parts += _tests_lines(f"{title} ({tests.total})", style, tests, app_url)
    return Group(*parts)


def _tests_lines(
    title: str, style: str, tests: Listing[TestLine], app_url: str
) -> list[RenderableType]:
    lines: list[RenderableType] = [Text(title, style=style)]
    for group in by_run(tests.items):
        link = run_link(app_url, group.page)
        header = Text(f"  {group.where}  ", style="bold")
        header.append(link, style=f"link {link}")
        lines.append(header)
        for test in group.tests:
            line = Text(f"    {_test_name(test)}")  # Text: a name's [brackets] are not markup
            if test.evidence:
                line.append(f"  {test.evidence}", style="dim")
            lines.append(line)
    if tests.more:
        lines.append(Text(f"  ... and {tests.more} more (--all lists every one)"))
    return lines


def _test_name(test: TestLine) -> str:
    if test.name:
        return one_line(test.name)
    return "(tests not known)" if test.test_case_id is None else f"test case {test.test_case_id}"
