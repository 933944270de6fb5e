"""Running ``rerunorch sweep`` (and ``demo``): the sweep, then every output, then the exit code.

An :class:`~rerunorch.cli.invocation.Invocation` is read once; :func:`run_sweep`
runs it; the journal is closed in one place (:func:`sweep_journaled`); and
:func:`conclude` sends the notifiers, writes the reports and prints the
summary, last, so that every note (a failed notifier, the ``--resume`` hint)
is in what it writes.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import click
from rich.console import Console
from rich.text import Text

from rerunorch.cli.invocation import Invocation, Outputs, read_invocation
from rerunorch.cli.progress import LiveProgress, PlainProgress, summary_table
from rerunorch.cli.reach import OutageGuard, redis_unreachable, unreachable
from rerunorch.cli.summary import (
    DEFAULT_APP_URL,
    by_run,
    plain_counts,
    run_link,
    verdict,
    written_line,
)
from rerunorch.clock import Clock, ScaledClock
from rerunorch.engine import Sweep, TargetSource
from rerunorch.errors import AuthError, ConfigError, RerunorchError
from rerunorch.events import SweepListener
from rerunorch.journal import Journal
from rerunorch.report.digest import digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import duration_text

if TYPE_CHECKING:
    from rerunorch.report.junit import Records

if TYPE_CHECKING:
    from rerunorch.cli.recording import Ledger

__all__ = [
    "Ran",
    "conclude",
    "error_exit",
    "print_summary",
    "run_sweep",
    "run_sweep_command",
    "setup_logging",
    "write_outputs",
]

log = logging.getLogger("rerunorch.cli")

# "GET /api/v1/execution_results/10024: " before what went wrong.
_REQUEST = re.compile(r"^[A-Z]+ /\S*: ")

_VERDICT_STYLES = {0: "bold green", 1: "bold red", 3: "bold yellow"}

_STOPPING = (
    "stopping: no new reruns; following running ones for {grace:g}s (Ctrl-C again to stop at once)"
)


@attrs.frozen(kw_only=True)
class Ran:
    """How a sweep went.

    Attributes:
        report: What it found out (also after an error: what was known then).
        error: What ended it early (the key refused, an unexpected error), or None.
        journal: The journal's path, or None without one.
        unreached: The server went away before it answered any request of the sweep.
        records: Each run's test-case results and duration for the JUnit file (read
            after the sweep when ``--junit`` is asked for), or None.
    """

    report: SweepReport
    error: Exception | None = None
    journal: Path | None = None
    unreached: bool = False
    records: Records | None = None

    @property
    def complete(self) -> bool:
        """It ran to its end: nothing left to resume."""
        return self.error is None and not self.report.summary.interrupted

    @property
    def refused_up_front(self) -> bool:
        """A usage error or the key refused before any rerun was triggered (exit 2)."""
        return isinstance(self.error, AuthError | ConfigError) and not self.report.summary.triggered


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    if quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# -- running ---------------------------------------------------------------------------------


async def _run_with_signals(sweep: Sweep, guard: OutageGuard | None = None) -> Exception | None:
    """Run the sweep; a first Ctrl-C/SIGTERM winds down, a second one stops at once, and
    so does ``guard`` when the server has gone.

    Returns what ended the sweep early, if anything (``sweep.report`` holds what was known).
    """
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        if guard is not None:
            guard.watch(sweep, cancel=tg.cancel_scope.cancel)

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    if sweep.stopping:
                        click.echo("stopping now", err=True)
                        tg.cancel_scope.cancel()
                    else:  # the one message: the engine only logs it at INFO
                        click.echo(_STOPPING.format(grace=sweep.settings.grace), err=True)
                        sweep.stop()

        tg.start_soon(watch)
        try:
            await sweep.run()
        except Exception as exc:
            failure = exc  # kept out of the task group's exception group
        finally:
            tg.cancel_scope.cancel()
    return failure


async def run_sweep(
    invocation: Invocation,
    targets: TargetSource,
    *,
    total: int,
    journal: Journal | None = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    watch: Callable[[Sweep], None] | None = None,
) -> Ran:
    """Run the sweep with progress (no notifiers, no reports: see :func:`conclude`).

    ``watch`` is handed the sweep before it runs (a fleet worker stops claiming once it
    winds down).

    Raises:
        ConfigError: The sweep could not start (e.g. an unknown strategy).
    """
    if clock is None and invocation.time_scale != 1.0:
        clock = ScaledClock(invocation.time_scale)
    console = Console(stderr=True)
    live = LiveProgress(total, console) if not invocation.quiet and console.is_terminal else None
    guard = OutageGuard()
    relay = invocation.plugins.listener()
    listeners: list[SweepListener] = [relay, guard]
    if live is not None:
        listeners.append(live)
    elif not invocation.quiet:
        listeners.append(PlainProgress(total))
    if ledger is not None:
        listeners.append(ledger.listener)
    sweep = Sweep(
        targets,
        invocation.settings,
        api_key=invocation.key,
        strategy=relay.with_rounds(invocation.strategy),  # plugins' rerunorch_next_round
        listener=listeners,
        clock=clock,
        journal=journal,
        history=ledger.history if ledger is not None else None,
    )
    sweep.report.notes.extend(getattr(targets, "notes", ()))  # e.g. repeated ids
    sweep.report.notes.extend(ledger.notes if ledger is not None else ())
    # The plugins' settings (masked) go in the report's config as the sweep's own do.
    sweep.report.config = {**sweep.report.config, **invocation.plugin_config}
    if watch is not None:
        watch(sweep)
    if live is not None:
        with live.showing(sweep):
            error = await _run_with_signals(sweep, guard)
    else:
        error = await _run_with_signals(sweep, guard)
    found_notes = getattr(targets, "found_notes", None)  # what a discovery found, and why
    if found_notes is not None:
        sweep.report.notes.extend(found_notes())
    records = None
    # The server is there (no error, no outage): read what the JUnit file shows.
    server_there = error is None and guard.message is None
    if invocation.outputs.junit and not invocation.settings.dry_run and server_there:
        from rerunorch.cli.records import read_records

        records, notes = await read_records(
            sweep.report, invocation.settings, invocation.key, clock=sweep.clock
        )
        sweep.report.notes.extend(notes)
    return Ran(report=sweep.report, error=error, unreached=guard.never_answered, records=records)


def _open_journal(invocation: Invocation, fingerprint: str) -> Journal:
    """The sweep's journal: new, or reopened with ``--resume``."""
    assert invocation.journal is not None
    journal = Journal.open(
        invocation.journal,
        settings={**invocation.settings.to_json(), **invocation.plugin_config},
        fingerprint=fingerprint,
        resume=invocation.resume,
        force=invocation.force,
    )
    if invocation.resume and not journal.resumed:
        click.echo(f"note: no journal at {journal.path} yet: starting afresh", err=True)
    return journal


def sweep_journaled(invocation: Invocation, ledger: Ledger | None = None) -> Ran:
    """Open the journal, run the sweep, and close the journal (here only).

    Raises:
        ConfigError: The journal refuses this sweep, or the sweep could not start.
    """
    if invocation.fleet:
        from rerunorch.cli.fleet_run import sweep_in_fleet

        return sweep_in_fleet(invocation, partial(run_sweep, ledger=ledger))
    targets = invocation.targets
    assert targets is not None
    journal = _open_journal(invocation, targets.fingerprint) if invocation.journal else None
    ran: Ran | None = None
    try:
        if journal is not None and not journal.resumed:  # so that --resume needs no ids
            journal.record_input(targets.recorded())
        ran = anyio.run(
            partial(
                run_sweep,
                invocation,
                targets,
                total=invocation.total,
                journal=journal,
                ledger=ledger,
            )
        )
    finally:
        if journal is not None:
            journal.close(finished=ran is not None and ran.complete)
    return ran if journal is None else attrs.evolve(ran, journal=journal.path)


# -- the outputs -----------------------------------------------------------------------------


def write_outputs(report: SweepReport, outputs: Outputs) -> list[str]:
    """Write each report asked for; returns a warning line for each that failed."""
    return [warning for _, _, warning in _write_each(report, outputs) if warning]


def _write_each(
    report: SweepReport, outputs: Outputs, records: Records | None = None
) -> list[tuple[str, str, str | None]]:
    """Write each report asked for: ``(flag, path, warning or None)`` for each; the JUnit
    file with each run's ``records`` when they were read (:mod:`rerunorch.cli.records`)."""
    from rerunorch.report.junit import write_junit
    from rerunorch.report.markdown import write_markdown

    writers: dict[str, Callable[[str], None]] = {
        "--report": report.write_json,
        "--junit": partial(write_junit, report, records=records),
        "--markdown": partial(write_markdown, report),  # appends to $GITHUB_STEP_SUMMARY
    }
    written: list[tuple[str, str, str | None]] = []
    for flag, path in outputs.items():
        try:
            writers[flag](path)
        except OSError as exc:
            warning = f"{flag}: could not write {path}: {exc.strerror or exc}"
            written.append((flag, path, warning))
        else:
            written.append((flag, path, None))
    return written


def _print_plan(report: SweepReport, *, err: bool) -> None:
    for outcome in report.results:
        what = outcome.reason or outcome.error or outcome.outcome.value
        click.echo(f"{outcome.target}: {outcome.outcome.value}: {what}", err=err)


def print_summary(
    report: SweepReport,
    *,
    err: bool = False,
    max_tests: int | None = 20,
    written: Sequence[tuple[str, str]] = (),
    app_url: str = DEFAULT_APP_URL,
) -> None:
    """The summary: the counts (runs apart from tests; a table on a terminal), the tests
    named by run with a link to each run (``app_url``), the first problems, the notes, the
    verdict and the report files ``written``.

    ``err`` sends the summary to stderr (when a report goes to stdout); at most
    ``max_tests`` still-failing and as many flaky tests are named (None: all).
    """
    console = Console(stderr=err)
    if console.is_terminal:
        console.print(summary_table(report, max_tests=max_tests, app_url=app_url))
    else:
        _print_plain_summary(report, err=err, max_tests=max_tests, app_url=app_url)
    for line in problem_lines(report):
        click.echo(line, err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    dry_run = bool(report.config.get("dry_run"))
    line = f"verdict: {verdict(report.summary, dry_run=dry_run)}"
    if console.is_terminal:  # in colour (unless NO_COLOR is set)
        console.print(Text(line, style=_VERDICT_STYLES.get(report.exit_code, "bold")))
    else:
        click.echo(line, err=err)
    files = written_line(written)
    if files:
        click.echo(files, err=err)
    device, makespan = report.summary.device_seconds, report.summary.makespan_seconds
    if device is not None and makespan is not None:
        click.echo(
            f"device time {duration_text(device)}, makespan {duration_text(makespan)}", err=err
        )


def problem_lines(report: SweepReport, *, limit: int = 10) -> list[str]:
    """A line for each way targets could not be rerun to their end: one target's error as
    it is, or ``"  12 targets: interrupted: sweep cancelled (2001, 2002, ...)"`` for many
    that ended the same way (the error less its request), ``limit`` lines at most."""
    ways: dict[tuple[str, str], list[int]] = {}
    for outcome in report.results:
        if outcome.outcome.incomplete:
            why = _REQUEST.sub("", outcome.error or "")
            ways.setdefault((outcome.outcome.value, why), []).append(outcome.target)
    lines = []
    for (kind, why), targets in list(ways.items())[:limit]:
        if len(targets) == 1:
            lines.append(f"  {targets[0]}: {kind}: {why}")
            continue
        shown = ", ".join(map(str, targets[:5])) + (", ..." if len(targets) > 5 else "")
        lines.append(f"  {len(targets)} targets: {kind}: {why} ({shown})")
    if len(ways) > limit:
        lines.append("  ... (the report lists them all)")
    return lines


def _print_plain_summary(
    report: SweepReport, *, err: bool, max_tests: int | None, app_url: str
) -> None:
    """The counts on one line (runs, then tests), then the tests named (still failing
    first, then flaky), a run's tests under a line with its link, for logs and CI."""
    story = digest(report, max_items=sys.maxsize if max_tests is None else max_tests)
    click.echo(f"summary: {plain_counts(story.counts)}", err=err)
    for title, tests in (("still failing", story.failing), ("flaky", story.flaky)):
        for group in by_run(tests.items):
            click.echo(f"  {title}: {group.where}: {run_link(app_url, group.page)}", err=err)
            for test in group.tests:
                name = test.name or "(tests not known)"
                evidence = f": {test.evidence}" if test.evidence else ""
                click.echo(f"    {name}{evidence}", err=err)
        if tests.more:
            more = f"... and {tests.more} more (--all lists every one)"
            click.echo(f"  {title}: {more}", err=err)


def conclude(invocation: Invocation, ran: Ran) -> int:
    """Notify, write the reports, print the summary, close the report; returns the exit code.

    A report that cannot be written is a warning: the sweep's own exit code stands.
    """
    with ran.report:
        return _conclude(invocation, ran)


def _conclude(invocation: Invocation, ran: Ran) -> int:
    report = ran.report
    if ran.journal is not None and not ran.complete and not ran.refused_up_front:
        # (refused up front, nothing was triggered: the same command runs again as it is)
        report.notes.append(f"journal: {ran.journal}; continue with the same command and --resume")
    if ran.refused_up_front:
        assert ran.error is not None
        return error_exit(ran.error, invocation.verbose)
    if ran.unreached and not report.summary.triggered:
        return 2  # said by the guard: the server answered nothing, nothing was triggered
    if ran.journal is not None and ran.complete and not invocation.quiet:
        click.echo(f"journal: {ran.journal}", err=True)
    if invocation.notifiers and invocation.settings.dry_run:
        names = ", ".join(name for name, _ in invocation.notifiers)
        click.echo(f"note: dry run: not notifying ({names})", err=True)
    elif invocation.notifiers:
        from rerunorch.notify import notify_all

        anyio.run(notify_all, invocation.notifiers, report, invocation.notify_options)
    each = _write_each(report, invocation.outputs, ran.records)
    err = invocation.outputs.to_stdout
    if invocation.settings.dry_run:
        _print_plan(report, err=err)
    written = [(flag, path) for flag, path, warning in each if warning is None]
    print_summary(
        report,
        err=err,
        written=written,
        max_tests=None if invocation.show_all else 20,
        app_url=invocation.app_url,
    )
    for line in (warning for _, _, warning in each if warning):
        click.echo(f"warning: {line}", err=True)
    if ran.error is not None:
        error_exit(ran.error, invocation.verbose)
        return 3  # work had begun: the reports say what became of it
    return report.exit_code


# -- errors ----------------------------------------------------------------------------------


def error_message(exc: BaseException) -> str:
    """What to tell the user about ``exc`` (one wording for each kind)."""
    if isinstance(exc, AuthError):
        return f"the server refused the API key ({exc.message}); check TESTSIGMA_API_KEY"
    if isinstance(exc, RerunorchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def error_exit(exc: BaseException, verbose: int) -> int:
    """Say what went wrong (a traceback too with ``-v`` if unexpected); returns the exit code.

    2 for bad usage, config or API key; 3 for anything else.
    """
    if isinstance(exc, AuthError | ConfigError):
        click.echo(f"error: {error_message(exc)}", err=True)
        return 2
    if verbose:
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
        click.echo(f"error: {error_message(exc)}", err=True)
    else:
        click.echo(f"error: {error_message(exc)} (run with -v for details)", err=True)
    return 3


def run_sweep_command(ctx: click.Context, ids: tuple[str, ...], options: dict[str, Any]) -> int:
    """``rerunorch sweep``; returns the exit code."""
    setup_logging(options["verbose"], options["quiet"])
    try:
        invocation = read_invocation(ctx, options, ids=ids)
    except ConfigError as exc:
        return error_exit(exc, options["verbose"])
    assert invocation.targets is not None or invocation.fleet
    ledger: Ledger | None = None
    try:
        problem = anyio.run(unreachable, invocation.settings.base_url)
        if problem is None and invocation.settings.shared_limit and invocation.settings.rate:
            problem = anyio.run(redis_unreachable, invocation.settings.shared_limit)
        if problem is not None:  # said at once, not once per target after retries
            click.echo(f"error: {problem}", err=True)
            return 2
        ledger = _open_ledger(invocation)  # a bad ledger ends it here: exit 2, nothing sent
        ran = sweep_journaled(invocation, ledger)
    except Exception as exc:
        return error_exit(exc, invocation.verbose)
    finally:
        if invocation.targets is not None:
            invocation.targets.close()
        if ledger is not None:
            ledger.close()
    return conclude(invocation, ran)


def _open_ledger(invocation: Invocation) -> Ledger | None:
    """The sweep's ledger (None with ``--no-history``); a dry run reads it, records nothing."""
    if invocation.history is None:
        return None
    from rerunorch.cli.recording import open_ledger
    from rerunorch.ledger.store import sqlite_path

    location = invocation.history
    sqlite = "://" not in location or location.startswith("sqlite://")
    if invocation.settings.dry_run and sqlite and not sqlite_path(location).exists():
        return None  # a dry run reads history if there is one, and makes none
    return open_ledger(
        location,
        record=not invocation.settings.dry_run,
        rerun_broken=invocation.rerun_broken,
        quarantine_file=invocation.quarantine_file,
    )
