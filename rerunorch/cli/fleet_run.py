"""``rerunorch sweep --fleet URL --fleet-name NAME``: this process as one worker of a fleet.

The worker joins the fleet (publishing the targets if it is the first: under
``--max-active``, longest expected rerun first, so that the fleet starts them in
that order), runs an ordinary sweep whose targets are the ones it claims and whose
journal writes through to the fleet, and ends when every target of the fleet has
its outcome.
Its reports are the fleet's, merged: every worker that ends writes the whole.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from rerunorch.api.client import TestsigmaClient
from rerunorch.api.enums import ReRunType
from rerunorch.cli.invocation import Invocation
from rerunorch.cli.targetfile import FoundTargets
from rerunorch.clock import ScaledClock
from rerunorch.errors import ApiError, AuthError, ConfigError
from rerunorch.fleet import Fleet, FleetJournal, FleetWorker, fleet_report
from rerunorch.fleet.records import Order, redis_errors
from rerunorch.pacing.local import Pacer
from rerunorch.startorder import start_priority
from rerunorch.strategies.base import Selection
from rerunorch.targets import Target

if TYPE_CHECKING:  # cli.run calls this module: it hands over its run_sweep and Ran
    from rerunorch.cli.run import Ran

RunSweep = Callable[..., Awaitable["Ran"]]

__all__ = ["sweep_in_fleet"]


def sweep_in_fleet(invocation: Invocation, run_sweep: RunSweep) -> Ran:
    """Join the fleet, sweep what this worker claims (with ``run_sweep``, cli.run's), and
    return how it went with the fleet's report.

    Raises:
        ConfigError: Redis does not answer, or the fleet sweeps other targets or with
            other settings, or there is no fleet to join (nothing has been sent).
    """
    return anyio.run(_sweep_in_fleet, invocation, run_sweep)


def _config(invocation: Invocation) -> dict[str, Any]:
    settings = invocation.settings.to_json()
    return {**settings, "strategy": invocation.strategy.name, **invocation.plugin_config}


async def _sweep_in_fleet(invocation: Invocation, run_sweep: RunSweep) -> Ran:
    assert invocation.fleet is not None
    assert invocation.fleet_name is not None
    fleet = Fleet(invocation.fleet, invocation.fleet_name)
    try:
        targets = invocation.targets
        assert not isinstance(targets, FoundTargets)  # a fleet takes no discovery
        digest = hashlib.sha256(targets.fingerprint.encode()).hexdigest() if targets else ""
        config = _config(invocation)
        await fleet.join(targets, digest, config, _longest_first(invocation))
        with tempfile.TemporaryDirectory(prefix="rerunorch-fleet-") as scratch:
            journal = FleetJournal.open(
                Path(scratch) / "journal.sqlite", settings=config, fingerprint=digest
            )
            assert isinstance(journal, FleetJournal)
            ran: Ran | None = None
            try:
                worker = FleetWorker(fleet, journal, lease=invocation.fleet_lease)
                async with worker.running():
                    ran = await run_sweep(
                        _no_junit(invocation),  # its records are read for the fleet's report
                        worker.claims(),
                        total=fleet.total,
                        journal=journal,
                        watch=worker.watch,
                    )
                    await worker.add_totals(ran.report.summary)
            finally:
                journal.close(finished=ran is not None and ran.complete)
        return await _merged(invocation, fleet, worker, ran)
    finally:
        await fleet.close()


async def _merged(invocation: Invocation, fleet: Fleet, worker: FleetWorker, ran: Ran) -> Ran:
    """The fleet's report in place of this worker's (its own, if Redis does not answer),
    with the records of its runs for ``--junit``."""
    own = [f"worker {worker.consumer}: {worker.claimed} target(s) claimed", *worker.notes]
    failures: tuple[type[BaseException], ...] = (*redis_errors(), ConfigError)
    try:
        merged = await fleet_report(fleet)
    except failures as exc:  # Redis is down, or lost the fleet
        ran.report.notes[:0] = [
            *own,
            f"{fleet.shown}: no merged report ({exc}): this report is this worker's part only",
        ]
        merged = ran.report
    else:
        with ran.report:
            merged.notes[:0] = [*own, *ran.report.notes]
    records = None
    if invocation.outputs.junit and ran.error is None and not ran.unreached:
        from rerunorch.cli.records import read_records

        records, notes = await read_records(
            merged, invocation.settings, invocation.key, clock=_clock(invocation)
        )
        merged.notes.extend(notes)
    return attrs.evolve(ran, report=merged, records=records)


def _no_junit(invocation: Invocation) -> Invocation:
    return attrs.evolve(invocation, outputs=attrs.evolve(invocation.outputs, junit=None))


def _clock(invocation: Invocation) -> ScaledClock | None:
    return ScaledClock(invocation.time_scale) if invocation.time_scale != 1.0 else None


def _longest_first(invocation: Invocation) -> Order | None:
    """Under ``--max-active``, the fleet's start order: the targets published longest
    rerun first (by each run's duration times its share of failed tests, the start
    order's estimate; a run that cannot be read goes last, in input order)."""
    settings = invocation.settings
    if not settings.max_active or not settings.wait:
        return None

    async def order(targets: list[Target]) -> list[Target]:
        clock = _clock(invocation)
        pacer = Pacer(
            rate=settings.rate,
            burst=settings.burst,
            max_in_flight=settings.concurrency,
            clock=clock,
        )
        client = TestsigmaClient(
            invocation.key,
            settings.base_url,
            pacer=pacer,
            clock=clock,
            timeout=settings.request_timeout,
            max_response_bytes=settings.max_response_bytes,
        )
        expected: dict[int, float] = {}
        pending = iter(targets)

        async def read() -> None:
            for target in pending:
                try:
                    run = await client.get_run(target.id)
                except AuthError:
                    raise
                except ApiError:
                    continue
                expected[target.id] = start_priority(run, _FAILED)

        async with client, anyio.create_task_group() as tg:
            for _ in range(settings.concurrency):
                tg.start_soon(read)
        return sorted(targets, key=lambda target: -expected.get(target.id, 0.0))

    return order


_FAILED = Selection(ReRunType.ONLY_FAILED_TESTS)  # the estimate's share: the tests that failed
