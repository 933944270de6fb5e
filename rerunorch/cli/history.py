"""``rerunorch history TEST``: one test's timeline from the ledger."""

from __future__ import annotations

import sys
from typing import Any

import click

from rerunorch.cli.flaky import ledger_option, trend_arrow

__all__ = ["history"]


@click.command()
@click.argument("test")
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the summary and each run.")
@click.option("--iterations", is_flag=True, help="Show each data set's results too.")
def history(**options: Any) -> None:
    """The timeline of TEST (a test case id, or its exact name): each night, each run."""
    sys.exit(_history(**options))


def _history(*, test: str, history: str | None, as_json: bool, iterations: bool) -> int:
    import json
    import time

    import attrs

    from rerunorch.errors import ConfigError
    from rerunorch.ledger.model import summarize
    from rerunorch.ledger.store import LedgerStore
    from rerunorch.report.text import utc_text

    try:
        with LedgerStore.open(history, create=False) as store:
            where = store.where
            timeline = store.timeline(test)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    if not timeline:
        click.echo(
            f"error: no observations of test {test!r} in {where} (TEST is a test case id or "
            "its exact name; rerunorch flaky --all lists the tests seen)",
            err=True,
        )
        return 2
    flakes = summarize(timeline, now=time.time())
    flake = flakes[0] if flakes else None
    shown = [o for o in timeline if iterations or o.set_name is None]
    if as_json:
        runs = []
        for o in shown:
            data = attrs.asdict(o, recurse=False)
            data["seen"] = o.seen.value
            data["at"] = utc_text(o.at, "iso")
            runs.append(data)
        summary = None
        if flake is not None:
            summary = {
                "status": flake.status.value,
                "rate": round(flake.rate, 4),
                "interval": [round(x, 4) for x in flake.interval],
                "flip_rate": round(flake.flip_rate, 4),
                "p_broken": round(flake.p_broken, 4),
                "fixed_bound": flake.fixed_bound,
            }
        click.echo(json.dumps({"schema": 1, "test": test, "summary": summary, "runs": runs}))
        return 0
    name = next((o.test_case_name for o in reversed(timeline) if o.test_case_name), test)
    click.echo(f"{name} ({timeline[-1].test_case_id}) in {where}")
    if flake is not None:
        low, high = flake.interval
        line = (
            f"{flake.status.value}: failure rate {flake.rate:.1%} (90%: {low:.1%}–{high:.1%}), "
            f"{flake.failures} of {flake.runs} runs failed over {flake.nights} night(s), "
            f"flip rate {flake.flip_rate:.0%}, trend {trend_arrow(flake.trend)}"
        )
        click.echo(line + (f"; {flake.fixed_bound}" if flake.fixed_bound else ""))
    night = None
    for o in shown:
        if o.night != night:
            night = o.night
            click.echo(f"{night}:")
        where_ran = ", ".join(str(x) for x in (f"plan {o.plan_id}", o.machine) if x)
        label = f" [{o.set_name}]" if o.set_name else ""
        verdict = f"  -> {o.verdict}" if o.verdict else ""
        click.echo(
            f"  {utc_text(o.at)}  run {o.run_id} round {o.round}{label}: "
            f"{o.result or o.seen.value} ({where_ran}){verdict}"
        )
    return 0
