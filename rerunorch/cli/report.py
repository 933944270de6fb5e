"""``rerunorch report``: the reports of a sweep, made again from its journal or its fleet."""

from __future__ import annotations

import sys

import click

__all__ = ["report"]


@click.command()
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, exists=True),
    help="The sweep's journal.",
)
@click.option(
    "--fleet",
    metavar="redis://HOST:PORT/DB",
    help="Instead of --journal: the fleet's Redis (with --fleet-name).",
)
@click.option("--fleet-name", metavar="NAME", help="The fleet whose merged report is written.")
@click.option("--report", "json_path", type=click.Path(dir_okay=False), help="JSON report.")
@click.option("--junit", type=click.Path(dir_okay=False), help="JUnit XML.")
@click.option("--markdown", type=click.Path(dir_okay=False), help="Markdown summary.")
def report(
    journal: str | None,
    fleet: str | None,
    fleet_name: str | None,
    json_path: str | None,
    junit: str | None,
    markdown: str | None,
) -> None:
    """Write the JSON, JUnit and Markdown reports of the sweep in --journal, or of the
    whole fleet (--fleet URL --fleet-name NAME), at any time.

    Targets without an outcome (yet) are reported as interrupted.
    With no output option, prints the summary. Exits as the sweep did (0, 1 or 3).
    """
    from rerunorch.cli.journal_report import report_from_fleet, report_from_journal

    if (journal is None) == (fleet is None and fleet_name is None):
        raise click.UsageError("give --journal, or --fleet with --fleet-name (one of them)")
    if journal is not None:
        sys.exit(report_from_journal(journal, json_path, junit, markdown))
    if not fleet or not fleet_name:
        raise click.UsageError("--fleet and --fleet-name go together: give both")
    sys.exit(report_from_fleet(fleet, fleet_name, json_path, junit, markdown))
