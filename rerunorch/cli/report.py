"""``rerunorch report``: the reports of a sweep, made again from its journal."""

from __future__ import annotations

import sys

import click

__all__ = ["report"]


@click.command()
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, exists=True),
    required=True,
    help="The sweep's journal.",
)
@click.option("--report", "json_path", type=click.Path(dir_okay=False), help="JSON report.")
@click.option("--junit", type=click.Path(dir_okay=False), help="JUnit XML.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Markdown summary.")
def report(journal: str, json_path: str | None, junit: str | None, markdown: str | None) -> None:
    """Write the JSON, JUnit and Markdown reports of the sweep in --journal.

    Targets the journal holds no outcome for are reported as interrupted.
    With no output option, prints the summary.
    """
    from rerunorch.cli.journal_report import report_from_journal

    sys.exit(report_from_journal(journal, json_path, junit, markdown))
