"""The body of ``rerunorch demo`` (imported only when it runs)."""

from __future__ import annotations

from typing import Any

import anyio
import click
from rich.console import Console
from rich.table import Table

from rerunorch.cli.run import error_exit, execute, merge_config, print_summary, setup_logging
from rerunorch.clock import ScaledClock
from rerunorch.errors import ConfigError
from rerunorch.report.model import SweepReport
from rerunorch.secret import Secret
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["run_demo"]


def _tests_table(report: SweepReport, title: str, attr: str, limit: int = 15) -> Table | None:
    rows = [
        (str(outcome.target), str(outcome.rerun_id), test.test_case_name or "?")
        for outcome in report.results
        for test in getattr(outcome, attr)
    ]
    if not rows:
        return None
    table = Table(title=f"{title} ({len(rows)})", title_justify="left")
    for column in ("run", "rerun", "test"):
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*row)
    if len(rows) > limit:
        table.add_row("", "", f"... and {len(rows) - limit} more")
    return table


def run_demo(
    ctx: click.Context, count: int, seed: int, time_scale: float, options: dict[str, Any]
) -> int:
    setup_logging(options["verbose"], options["quiet"])
    try:
        options = merge_config(ctx, options)
    except ConfigError as exc:
        return error_exit(exc, options["verbose"])
    clock = ScaledClock(time_scale)
    config = SimulatorConfig(
        seed=seed,
        targets=count,
        passed_targets=max(1, count // 12),
        run_duration=(30.0, 180.0),
        rate_limit=20.0,
        rate_burst=10,
        flaky_probability=0.75,
        fault_503_rate=0.02,
        ambiguous_fault_rate=0.03,
    )
    console = Console()

    async def main() -> SweepReport:
        async with Simulator(config, clock=clock) as sim:
            click.echo(
                f"Simulated Testsigma at {sim.base_url}: {len(sim.target_ids)} failed results "
                f"and {len(sim.passed_ids)} passed ones; 1 s here is {time_scale:g} s there.",
                err=True,
            )
            targets = [*sim.target_ids, *sim.passed_ids]
            return await execute(
                targets,
                len(targets),
                options,
                base_url=sim.base_url,
                key=Secret(sim.api_key),
                clock=clock,
            )

    try:
        report = anyio.run(main)
    except Exception as exc:
        return error_exit(exc, options["verbose"])
    print_summary(report, console)
    for title, attr in (("Flaky tests", "flaky"), ("Still failing", "still_failing")):
        table = _tests_table(report, title, attr)
        if table is not None:
            console.print(table)
    return report.exit_code
