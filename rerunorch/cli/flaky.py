"""``rerunorch flaky``: the flakiest tests from the ledger (docs/verdicts.md, "The ledger")."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rerunorch.ledger.advice import SweepHistory
    from rerunorch.ledger.records import TestFlake

__all__ = ["flaky", "flaky_json", "ledger_option", "trend_arrow"]

SCHEMA = 1
_SHOWN = ("flaky", "broken", "fixed", "new")  # "passing" tests are shown with --all only


def ledger_option(command: Any) -> Any:
    """``--history URL|PATH`` for the commands that read the ledger."""
    return click.option(
        "--history",
        metavar="URL|PATH",
        help="The flake ledger (default .rerunorch/history.sqlite; env RERUNORCH_HISTORY).",
    )(command)


def trend_arrow(trend: float) -> str:
    """``↑`` getting worse, ``↓`` better, ``→`` steady (a change of 5 points or less)."""
    return "↑" if trend > 0.05 else "↓" if trend < -0.05 else "→"


@click.command()
@ledger_option
@click.option("--plan", "plans", multiple=True, type=click.IntRange(1), help="Only this test plan.")
@click.option("--since", metavar="WHEN", help="Nights since: 14d, 2w, or an ISO date.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the keys in docs/verdicts.md).")
@click.option("--html", "html", metavar="PATH", help="Write a self-contained HTML page here.")
@click.option("--all", "show_all", is_flag=True, help="Also the tests that never failed.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="Rows shown.")
@click.option("--quarantine-file", metavar="PATH", help="Manual quarantine overrides (TOML).")
def flaky(**options: Any) -> None:
    """The flakiest tests: failure rate with its 90% interval, nights, last seen, trend."""
    sys.exit(_flaky(**options))


def flaky_json(
    flakes: list[TestFlake], history: SweepHistory, since: float | None
) -> dict[str, Any]:
    """``rerunorch flaky --json`` (docs/verdicts.md)."""
    from rerunorch.report.text import utc_text

    return {
        "schema": SCHEMA,
        "since": utc_text(since, "iso") if since is not None else None,
        "tests": [
            {
                "testCaseId": f.test_case_id,
                "testCaseName": f.test_case_name,
                "plan": f.plan_id,
                "status": f.status.value,
                "runs": f.runs,
                "failures": f.failures,
                "rate": round(f.rate, 4),
                "interval": [round(f.interval[0], 4), round(f.interval[1], 4)],
                "nights": f.nights,
                "last_seen": utc_text(f.last_seen, "iso"),
                "quarantined": history.quarantined(f.test_case_id, f.test_case_name) is not None,
            }
            for f in flakes
        ],
    }


def _flaky(
    *,
    history: str | None,
    plans: tuple[int, ...],
    since: str | None,
    as_json: bool,
    html: str | None,
    show_all: bool,
    limit: int,
    quarantine_file: str | None,
) -> int:
    import datetime as dt
    import json
    import time

    from rerunorch.errors import ConfigError
    from rerunorch.ledger.advice import SweepHistory
    from rerunorch.ledger.model import nights, plan_rates
    from rerunorch.ledger.observe import night_of
    from rerunorch.ledger.overrides import DEFAULT_QUARANTINE_FILE, read_overrides
    from rerunorch.ledger.store import LedgerStore

    now = time.time()
    try:
        since_at = None
        if since:  # discovery's package reads the API client: only when needed
            from rerunorch.discovery.window import Bound

            since_at = Bound.parse(since, "--since").resolve(now)
        today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
        overrides = read_overrides(quarantine_file or DEFAULT_QUARANTINE_FILE, today=today)
        if html is not None:
            from rerunorch.report.output import check_output

            try:
                check_output(html)
            except OSError as exc:
                raise ConfigError(f"--html: cannot write {html}: {exc.strerror or exc}") from None
        first_night = night_of(since_at) if since_at is not None else None
        with LedgerStore.open(history, create=False) as store:
            where = store.where
            found = store.summaries(now=now, since=first_night, plans=set(plans))
            recorded = store.nights(since=first_night, plans=set(plans))
            tallies = store.tallies(since=first_night, plans=set(plans)) if html else []
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    book = SweepHistory.of_flakes(found, overrides=overrides)
    flakes = [
        f for f in book.flakes.values() if show_all or f.status.value in _SHOWN
    ]  # already the flakiest first
    if as_json:
        click.echo(json.dumps(flaky_json(flakes, book, since_at), indent=2))
    else:
        _table(flakes[:limit], book, where, len(flakes), len(recorded))
    if html is not None:
        # Per-plan points: one plan's outage marks its night, and is left out of its rate.
        points = nights(tallies, by_plan=True)
        _write_html(html, where, now, flakes, points, plan_rates(tallies))
    return 0


def _write_html(
    path: str, where: str, now: float, flakes: list[TestFlake], points: Any, rates: Any
) -> None:
    from rerunorch.ledger.page import render
    from rerunorch.report.output import open_output

    text = render(flakes, points, rates, title=f"Flaky tests in {where}", generated_at=now)
    with open_output(path) as out:
        out.write(text)
    click.echo(f"wrote {path}", err=True)


def _table(
    flakes: list[TestFlake], book: SweepHistory, where: str, total: int, nights: int
) -> None:
    from rich.console import Console
    from rich.table import Table

    from rerunorch.report.text import utc_text

    console = Console()
    if not flakes:
        console.print(f"no flaky or failing tests in {where} ({nights} night(s) recorded)")
        return
    table = Table(title=f"{total} test(s) over {nights} night(s) in {where}")
    for column in ("test", "plan", "status", "rate (90%)", "nights", "last seen", "trend"):
        table.add_column(column, justify="right" if column in ("nights",) else "left")
    for f in flakes:
        low, high = f.interval
        status = f.status.value
        if book.quarantined(f.test_case_id, f.test_case_name):
            status += " (quarantined)"
        if f.fixed_bound:
            status += f": {f.fixed_bound}"
        table.add_row(
            f"{f.test_case_name or ''} ({f.test_case_id})",
            str(f.plan_id or ""),
            status,
            f"{f.rate:.0%} ({low:.0%}–{high:.0%})",
            str(f.nights),
            utc_text(f.last_seen),
            trend_arrow(f.trend),
        )
    console.print(table)
