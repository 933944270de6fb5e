"""Running ``rerunorch sweep`` (and ``demo``): options, progress, reports, notifiers, exit code."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import click
from rich.console import Console

from rerunorch.cli.config import load_config
from rerunorch.cli.progress import LiveProgress, PlainProgress, summary_table
from rerunorch.cli.targetfile import TargetInput
from rerunorch.clock import Clock, ScaledClock
from rerunorch.engine import Sweep
from rerunorch.errors import AuthError, ConfigError, RerunorchError
from rerunorch.events import SweepListener
from rerunorch.journal import Journal, default_journal_path
from rerunorch.polling import PollPolicy
from rerunorch.report.model import SweepReport
from rerunorch.secret import Secret
from rerunorch.settings import SweepSettings
from rerunorch.sharding import Shard

__all__ = ["execute", "merge_config", "run_sweep_command"]

log = logging.getLogger("rerunorch.cli")


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    if quiet:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def merge_config(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    """Options with the config file's ``[sweep]`` values where no flag was given."""
    path = options.get("config_path")
    if not path:
        return {**options, "notify_options": {}}
    config = load_config(path)
    merged = dict(options)
    for key, value in config["sweep"].items():
        source = ctx.get_parameter_source(key)
        if key in ("api_key",):
            merged[key] = value
        elif source in (None, click.core.ParameterSource.DEFAULT):
            merged[key] = tuple(value) if key == "notify" else value
    merged["notify_options"] = config["notify"]
    return merged


def api_key(options: Mapping[str, Any]) -> Secret:
    """The API key: ``--api-key-file``, the config's ``api_key``, or TESTSIGMA_API_KEY."""
    path = options.get("api_key_file")
    if path:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--api-key-file: cannot read {path}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"--api-key-file: {path} is empty")
        return Secret(key)
    key = (options.get("api_key") or os.environ.get("TESTSIGMA_API_KEY", "")).strip()
    if not key:
        raise ConfigError("no API key: set TESTSIGMA_API_KEY (or use --api-key-file)")
    return Secret(key)


def settings_from(options: Mapping[str, Any], base_url: str) -> SweepSettings:
    interval = float(options["poll_interval"])
    try:
        return SweepSettings(
            base_url=base_url,
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
            shared_limit=options.get("shared_limit"),
            shard=options.get("shard"),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


async def _run_with_signals(sweep: Sweep) -> SweepReport:
    """Run the sweep; a first Ctrl-C/SIGTERM winds down, a second one stops at once."""
    failure: RerunorchError | None = None
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    if sweep.stopping:
                        click.echo("stopping now", err=True)
                        tg.cancel_scope.cancel()
                    else:
                        click.echo(
                            "stopping: no new reruns; Ctrl-C again to stop at once", err=True
                        )
                        sweep.stop()

        tg.start_soon(watch)
        try:
            await sweep.run()
        except RerunorchError as exc:  # a refused key, a journal that cannot be written
            failure = exc  # raised below, outside the task group's exception group
        finally:
            tg.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return sweep.report


def open_journal(options: Mapping[str, Any], fingerprint: str) -> Journal:
    """The sweep's journal: new, or reopened with ``--resume``."""
    settings = settings_from(options, options["base_url"]).to_json()
    shard = Shard.parse(options["shard"]) if options.get("shard") else None
    path = options.get("journal") or default_journal_path(shard)
    journal = Journal.open(
        path,
        settings=settings,
        fingerprint=fingerprint,
        resume=options.get("resume", False),
        force=options.get("force", False),
    )
    if options.get("resume") and not journal.resumed:
        click.echo(f"note: no journal at {journal.path} yet: starting afresh", err=True)
    return journal


def write_reports(report: SweepReport, options: Mapping[str, Any]) -> None:
    if options.get("report"):
        report.write_json(options["report"])
    if options.get("junit"):
        from rerunorch.report.junit import write_junit

        write_junit(report, options["junit"])
    if options.get("markdown"):
        from rerunorch.report.markdown import write_markdown

        write_markdown(report, options["markdown"])


def _print_plan(report: SweepReport) -> None:
    for outcome in report.results:
        what = outcome.reason or outcome.error or outcome.outcome.value
        click.echo(f"{outcome.target}: {outcome.outcome.value}: {what}")


def print_summary(report: SweepReport, console: Console) -> None:
    if console.is_terminal:
        console.print(summary_table(report))
    else:
        s = report.summary
        click.echo(
            f"summary: {s.targets} targets, {s.triggered} reruns, {s.passed} passed, "
            f"{s.failed} still failing, {s.skipped} skipped, {s.errors} errors, "
            f"{s.timed_out} timed out, {s.interrupted} interrupted; {s.flaky_tests} flaky tests, "
            f"{s.failing_tests} failing tests; {s.requests} requests, "
            f"{s.rate_limited} rate-limited"
        )
    problems = (o for o in report.results if o.outcome.incomplete)
    for shown, outcome in enumerate(problems):
        if shown == 10:
            click.echo("  ... (the report lists them all)", err=True)
            break
        click.echo(f"  {outcome.target}: {outcome.outcome.value}: {outcome.error}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


async def execute(
    targets: Any,
    total: int,
    options: Mapping[str, Any],
    *,
    base_url: str,
    key: Secret,
    clock: Clock | None = None,
    plugins: Any = None,
    journal: Journal | None = None,
) -> SweepReport:
    """Run one sweep with progress, reports and notifiers; returns the report."""
    from rerunorch.notify import run_notifiers
    from rerunorch.plugins import load_plugins

    manager = plugins or load_plugins()
    notifiers = manager.notifiers()
    unknown = [n for n in options.get("notify") or () if n not in notifiers]
    if unknown:
        known = ", ".join(sorted(notifiers)) or "none installed"
        raise ConfigError(f"unknown notifier {unknown[0]!r}; available: {known}")
    settings = settings_from(options, base_url)
    console = Console(stderr=True)
    live = not options.get("quiet") and console.is_terminal
    listeners: list[SweepListener] = [manager.listener()]
    if not options.get("quiet") and not live:
        listeners.append(PlainProgress(total))
    sweep = Sweep(
        targets,
        settings,
        api_key=key,
        strategies=manager.strategies(),
        listener=listeners,
        clock=clock,
        journal=journal,
    )
    if live:
        with LiveProgress(sweep, total, console):
            report = await _run_with_signals(sweep)
    else:
        report = await _run_with_signals(sweep)
    if options.get("notify"):
        await run_notifiers(
            list(options["notify"]), notifiers, report, options.get("notify_options") or {}
        )
    write_reports(report, options)  # after the notifiers, so that their failures are in it
    return report


def error_exit(exc: Exception, verbose: int) -> int:
    """Say what went wrong, without a traceback unless ``-v``; returns the exit code."""
    if isinstance(exc, AuthError):
        click.echo(
            f"error: the server refused the API key ({exc.message}); check TESTSIGMA_API_KEY",
            err=True,
        )
        return 2
    if isinstance(exc, ConfigError):
        click.echo(f"error: {exc}", err=True)
        return 2
    if verbose:
        raise exc
    detail = str(exc) if isinstance(exc, RerunorchError) else f"{type(exc).__name__}: {exc}"
    click.echo(f"error: {detail} (run with -v for details)", err=True)
    return 3


def _sweep(
    ctx: click.Context, ids: tuple[str, ...], options: dict[str, Any]
) -> tuple[SweepReport, Journal | None, dict[str, Any]]:
    """Read the options and targets, open the journal, and run the sweep."""
    options = merge_config(ctx, options)
    key = api_key(options)
    targets = TargetInput(ids, options.get("from_file"))
    journal: Journal | None = None
    try:
        if not options["dry_run"]:
            journal = open_journal(options, targets.fingerprint)
        total = targets.count
        if options.get("shard"):
            shard = Shard.parse(options["shard"])
            total = sum(1 for target in targets if target.id in shard)
        scale = options.get("time_scale", 1.0)
        report = anyio.run(
            lambda: execute(
                targets,
                total,
                options,
                base_url=options["base_url"],
                key=key,
                journal=journal,
                clock=ScaledClock(scale) if scale != 1.0 else None,
            )
        )
    except BaseException:
        if journal is not None:
            journal.close(finished=False)
        raise
    finally:
        targets.close()
    return report, journal, options


def run_sweep_command(ctx: click.Context, ids: tuple[str, ...], options: dict[str, Any]) -> int:
    """``rerunorch sweep``; returns the exit code."""
    setup_logging(options["verbose"], options["quiet"])
    try:
        report, journal, options = _sweep(ctx, ids, options)
    except Exception as exc:
        return error_exit(exc, options["verbose"])
    if journal is not None:
        finished = not report.summary.interrupted
        journal.close(finished=finished)
        if not finished:
            report.notes.append(
                f"journal: {journal.path}; continue with the same command and --resume"
            )
        elif not options["quiet"]:
            click.echo(f"journal: {journal.path}", err=True)
    if options["dry_run"]:
        _print_plan(report)
    print_summary(report, Console())
    return report.exit_code
