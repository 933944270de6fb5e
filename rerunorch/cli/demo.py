"""``rerunorch demo``: the main job end to end, against the built-in simulator."""

from __future__ import annotations

import sys
from typing import Any

import click

from rerunorch.cli.sweep import FiniteFloat, sweep_options

__all__ = ["demo"]


@click.command()
@click.option(
    "--targets",
    "count",
    type=click.IntRange(1, 10_000),
    default=24,
    show_default=True,
    help="Failed results to sweep (plus passed ones: 1 per 12, at least 1).",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="The simulated data set.")
@click.option(
    "--time-scale",
    type=FiniteFloat(min=1),
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@sweep_options
@click.pass_context
def demo(ctx: click.Context, /, count: int, seed: int, time_scale: float, **options: Any) -> None:
    """Sweep a simulated night's failures: no account, no network.

    Starts the Testsigma simulator in-process with seeded failing results (some
    flaky, some broken, a rate limit and a few faults), sweeps them with
    progress, and prints the flaky and still-failing tests. The sweep options
    (--strategy, --junit, --markdown, --notify, ...) work as for `sweep`.
    """
    from rerunorch.cli.demo_run import run_demo

    sys.exit(run_demo(ctx, count, seed, time_scale, options))
