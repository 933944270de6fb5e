"""The body of ``rerunorch demo`` (imported only when it runs)."""

from __future__ import annotations

from typing import Any

import anyio
import click

from rerunorch.cli.invocation import read_invocation
from rerunorch.cli.run import Ran, conclude, error_exit, run_sweep, setup_logging
from rerunorch.clock import ScaledClock
from rerunorch.errors import ConfigError
from rerunorch.secret import Secret
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["run_demo"]


def run_demo(
    ctx: click.Context, count: int, seed: int, time_scale: float, options: dict[str, Any]
) -> int:
    """``rerunorch demo``: a simulator, a sweep of its failures, the outputs as for ``sweep``."""
    setup_logging(options["verbose"], options["quiet"])
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
    try:
        invocation = read_invocation(ctx, options, demo_key=Secret(config.api_key))
    except ConfigError as exc:
        return error_exit(exc, options["verbose"])
    clock = ScaledClock(time_scale)

    async def main() -> Ran:
        async with Simulator(config, clock=clock) as sim:
            click.echo(
                f"Simulated Testsigma at {sim.base_url}: {len(sim.target_ids)} failed results "
                f"and {len(sim.passed_ids)} passed ones; 1 s here is {time_scale:g} s there.",
                err=True,
            )
            targets = [*sim.target_ids, *sim.passed_ids]
            return await run_sweep(
                invocation.at(sim.base_url), targets, total=len(targets), clock=clock
            )

    try:
        ran = anyio.run(main)
    except Exception as exc:
        return error_exit(exc, invocation.verbose)
    return conclude(invocation, ran)
