"""Rebuilding a :class:`~rerunorch.report.model.SweepReport` from a journal (or a fleet)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rerunorch.cli.invocation import Outputs
from rerunorch.cli.run import error_exit, print_summary, write_outputs
from rerunorch.errors import ConfigError
from rerunorch.journal import Journal
from rerunorch.report.model import DEFAULT_FAIL_ON, SweepReport

__all__ = ["load_report", "report_from_fleet", "report_from_journal"]


def load_report(path: str | Path) -> SweepReport:
    """The report of the sweep recorded in the journal at ``path``."""
    journal = Journal.open(path, settings={}, resume=True, force=True)
    try:
        meta = journal.meta()
        config = json.loads(meta.get("settings", "{}"))
        report = SweepReport(
            started_at=float(meta.get("started_at", "0")),
            config=config,
            fail_on=tuple(config.get("fail_on") or DEFAULT_FAIL_ON),
        )
        for outcome in journal.outcomes():
            report.add(outcome)
        report.finished_at = float(meta["finished_at"]) if "finished_at" in meta else None
    finally:
        journal.close(finished=False)
    return report


def report_from_journal(
    path: str, json_path: str | None, junit: str | None, markdown: str | None
) -> int:
    """``rerunorch report``: the reports of the sweep in the journal at ``path``; the exit code."""
    outputs = Outputs(report=json_path, junit=junit, markdown=markdown)
    try:
        outputs.check()
        report = load_report(path)
    except ConfigError as exc:
        return error_exit(exc, verbose=0)
    return _write(report, outputs)


def report_from_fleet(
    url: str, name: str, json_path: str | None, junit: str | None, markdown: str | None
) -> int:
    """``rerunorch report --fleet``: the merged reports of fleet ``name``; the exit code."""
    import anyio

    from rerunorch.fleet import Fleet, fleet_report
    from rerunorch.fleet.records import redis_errors
    from rerunorch.pacing.shared import redis_problem

    async def merged() -> SweepReport:
        fleet = Fleet(url, name)
        try:
            return await fleet_report(fleet)
        except redis_errors() as exc:
            raise ConfigError(f"{fleet.shown}: {redis_problem(exc)}") from None
        finally:
            await fleet.close()

    outputs = Outputs(report=json_path, junit=junit, markdown=markdown)
    try:
        outputs.check()
        report = anyio.run(merged)
    except ConfigError as exc:
        return error_exit(exc, verbose=0)
    return _write(report, outputs)


def _write(report: SweepReport, outputs: Outputs) -> int:
    with report:
        for line in write_outputs(report, outputs):
            click.echo(f"warning: {line}", err=True)
        print_summary(report, err=outputs.to_stdout)
        return report.exit_code
