"""Running a sweep for the command line: settings, progress, summary, exit code."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import click

from rerunorch.cli.sweep import _api_key
from rerunorch.cli.targetfile import TargetInput
from rerunorch.engine import Sweep
from rerunorch.errors import AuthError, ConfigError, RerunorchError
from rerunorch.listener import SweepListener
from rerunorch.outcome import Outcome
from rerunorch.polling import PollPolicy
from rerunorch.report import SweepReport
from rerunorch.settings import SweepSettings
from rerunorch.targets import Target

__all__ = ["run_command"]

log = logging.getLogger("rerunorch.cli")


class LinePrinter(SweepListener):
    """One plain line per state change (for logs: no control characters)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    async def rerun_triggered(self, target: Target, rerun_id: int, adopted: bool) -> None:
        verb = "adopted" if adopted else "triggered"
        click.echo(f"{target.id}: {verb} rerun {rerun_id}", err=True)

    async def rerun_finished(self, outcome: Outcome) -> None:
        self.done += 1
        detail = outcome.error or outcome.reason or outcome.result or ""
        flaky = f", {len(outcome.flaky)} flaky" if outcome.flaky else ""
        failing = f", {len(outcome.still_failing)} still failing" if outcome.still_failing else ""
        click.echo(
            f"[{self.done}/{self.total}] {outcome.target}: {outcome.outcome.value}"
            f"{flaky}{failing}{' - ' + detail if detail else ''}",
            err=True,
        )

    async def rate_limited(self, wait: float, reason: str) -> None:
        click.echo(f"rate limited: pausing {wait:.1f}s ({reason})", err=True)


def _settings(options: dict[str, Any]) -> SweepSettings:
    interval = options["poll_interval"]
    return SweepSettings(
        base_url=options["base_url"],
        strategy=options["strategy"],
        concurrency=options["concurrency"],
        rate=options["rate"],
        burst=options["burst"],
        max_active=options["max_active"],
        wait=options["wait"],
        poll=PollPolicy(initial=interval, minimum=min(interval, PollPolicy().minimum)),
        timeout=options["timeout"],
        stop_on_timeout=options["stop_on_timeout"],
        dry_run=options["dry_run"],
    )


def print_summary(report: SweepReport) -> None:
    s = report.summary
    click.echo(
        f"{s.targets} targets: {s.passed} passed, {s.failed} still failing, {s.skipped} skipped, "
        f"{s.errors} errors, {s.timed_out} timed out, {s.interrupted} interrupted; "
        f"{s.triggered} reruns; {s.flaky_tests} flaky tests, {s.failing_tests} failing tests; "
        f"{s.requests} requests, {s.rate_limited} rate-limited"
    )
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


def run_command(ids: tuple[str, ...], from_file: str | None, options: dict[str, Any]) -> int:
    """Run ``rerunorch sweep``; returns the exit code."""
    verbose = options["verbose"]
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    targets: TargetInput | None = None
    try:
        targets = TargetInput(ids, from_file)
        sweep = Sweep(
            targets,
            _settings(options),
            api_key=_api_key(options["api_key_file"]),
            listener=None if options["quiet"] else LinePrinter(targets.count),
        )
        report = anyio.run(sweep.run)
    except AuthError as exc:
        click.echo(
            f"error: the server refused the API key ({exc.message}); check TESTSIGMA_API_KEY",
            err=True,
        )
        return 2
    except (ConfigError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except RerunorchError as exc:
        if verbose:
            raise
        click.echo(f"error: {exc}", err=True)
        return 3
    finally:
        if targets is not None:
            targets.close()
    if options["report_path"]:
        report.write_json(options["report_path"])
    if options["dry_run"]:
        for outcome in report.results:
            click.echo(f"{outcome.target}: {outcome.reason or outcome.outcome.value}")
    print_summary(report)
    return report.exit_code
