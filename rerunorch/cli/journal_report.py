"""Rebuilding a :class:`~rerunorch.report.model.SweepReport` from a journal."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from rerunorch.cli.run import print_summary, write_reports
from rerunorch.errors import ConfigError
from rerunorch.journal import Journal
from rerunorch.report.model import SweepReport

__all__ = ["load_report", "report_from_journal"]


def load_report(path: str | Path) -> SweepReport:
    """The report of the sweep recorded in the journal at ``path``."""
    journal = Journal.open(path, settings={}, resume=True, force=True)
    try:
        meta = journal.meta()
        report = SweepReport(
            started_at=float(meta.get("started_at", "0")),
            config=json.loads(meta.get("settings", "{}")),
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
    try:
        report = load_report(path)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    write_reports(report, {"report": json_path, "junit": junit, "markdown": markdown})
    print_summary(report, Console())
    return report.exit_code
