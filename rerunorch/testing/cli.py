"""``rerunorch simulate``: serve the simulator until Ctrl-C.

Only click is imported here; the server's modules load when the command runs, so that
``rerunorch --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rerunorch.clock import Clock

    from .config import SimulatorConfig

__all__ = ["build_config", "simulate"]


def build_config(*, nightly: bool = False, **options: Any) -> SimulatorConfig:
    """A :class:`SimulatorConfig` from the command's options (None means the default);
    ``nightly`` makes ``plans`` and ``nights`` a :class:`NightlyConfig`'s."""
    from .config import SimulatorConfig
    from .nightly import NightlyConfig

    fields = {name: value for name, value in options.items() if value is not None}
    if nightly:
        nights = {key: fields.pop(key) for key in ("plans", "nights") if key in fields}
        fields["nightly"] = NightlyConfig(**nights)
    return SimulatorConfig(**fields)


@click.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--seed", type=int, help="Seed of the data set and of every fault.  [default: 0]")
@click.option("--targets", type=int, help="Seeded runs with failures.  [default: 20]")
@click.option("--passed-targets", type=int, help="Seeded runs that passed.  [default: 2]")
@click.option("--api-key", help="The accepted API key.  [default: sim-api-key]")
@click.option(
    "--time-scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Simulated seconds per real second (10 makes a 60 s run last 6 s).",
)
@click.option("--flaky", "flaky_probability", type=float, help="Share of failures that are flaky.")
@click.option("--rate-limit", type=float, help="Requests per second the server allows.")
@click.option("--burst", "rate_burst", type=int, help="Requests allowed at once over the rate.")
@click.option(
    "--retry-after", type=click.Choice(["seconds", "date", "none"]), help="Retry-After on 429."
)
@click.option("--ratelimit-headers", is_flag=True, default=None, help="Send RateLimit headers.")
@click.option("--fault-503-rate", type=float, help="Probability of a 503 per request.")
@click.option(
    "--ambiguous-rate", "ambiguous_fault_rate", type=float, help="Lost rerun answers (0-1)."
)
@click.option(
    "--ambiguous-mode", type=click.Choice(["reset", "500", "502", "mixed"]), help="How answers die."
)
@click.option("--latency", type=float, help="Seconds added to every request.")
@click.option("--auto-rerun/--no-auto-rerun", default=None, help="Server reruns failures itself.")
@click.option("--auto-rerun-delay", type=float, help="Seconds after completion.  [default: 30]")
@click.option("--plan-busy-rate", type=float, help="Probability a POST finds the plan busy.")
@click.option("--max-active", "max_active_runs", type=int, help="Cap on runs active at once.")
@click.option(
    "--child-result",
    "child_result_style",
    type=click.Choice(["id", "object"]),
    help="childResult as an id or a nested object.  [default: id]",
)
@click.option(
    "--run-duration",
    type=(float, float),
    help="Min and max seconds of an original run.  [default: 10 120]",
)
@click.option("--plans", type=int, help="Spread the runs over N plans and past nights.")
@click.option("--nights", type=int, help="With --plans: over this many nights.  [default: 1]")
@click.option(
    "--nightly",
    is_flag=True,
    help="The same tests every night (--plans, default 3; --nights), each at its own rate.",
)
def simulate(host: str, port: int, time_scale: float, **options: Any) -> None:
    """Serve a simulated Testsigma API on HOST:PORT until Ctrl-C."""
    try:
        config = build_config(**options)
    except (TypeError, ValueError) as error:
        raise click.BadParameter(str(error)) from None
    from rerunorch.clock import ScaledClock, SystemClock

    clock: Clock = SystemClock() if time_scale == 1 else ScaledClock(time_scale)
    with contextlib.suppress(KeyboardInterrupt):
        import asyncio  # here, not at the top: `rerunorch --help` lists this command

        try:
            asyncio.run(_serve(config, clock, host, port))
        except BrokenPipeError:  # its output was piped to a reader that left (`| head`)
            sys.exit(0)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            click.echo(f"error: cannot listen on {host}:{port}: {why}", err=True)
            sys.exit(2)


async def _serve(config: SimulatorConfig, clock: Clock, host: str, port: int) -> None:
    import signal

    import anyio

    from .simulator import Simulator

    async with Simulator(config, clock=clock, host=host, port=port) as sim:
        first = sim.target_ids[0] if sim.target_ids else "ID"
        scale = getattr(clock, "scale", 1.0)  # the sweep's clock must run as fast as this one
        scaled = f" --time-scale {scale:g}" if scale != 1 else ""
        click.echo(f"Testsigma simulator on {sim.base_url}  (API key: {sim.api_key})")
        click.echo(f"{len(sim.target_ids)} failing runs: GET {sim.base_url}/_simulator/targets")
        click.echo("Try:")
        click.echo(
            f"  TESTSIGMA_BASE_URL={sim.base_url} TESTSIGMA_API_KEY={sim.api_key} "
            f"rerunorch sweep {first}{scaled}"
        )
        plans = " ".join(f"--plan {plan}" for plan in sim.plan_ids[:2])
        click.echo(
            f"  TESTSIGMA_BASE_URL={sim.base_url} TESTSIGMA_API_KEY={sim.api_key} "
            f"rerunorch sweep {plans} --since 24h --dry-run{scaled}"
        )
        click.echo(
            f"  curl -H 'Authorization: Bearer {sim.api_key}' "
            f"{sim.base_url}/api/v1/execution_results/{first}"
        )
        click.echo("Ctrl-C (or SIGTERM) stops it.")
        try:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    break
        finally:
            click.echo(json.dumps(sim.stats.to_json(), indent=2))
