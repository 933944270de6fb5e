"""The fleet, in process: several workers (each its own sweep, client and Redis connection)
against one simulator and a real redis-server, a Redis restart among them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from redis_server import RedisServer, redis_server_or_skip

from rerunorch import Sweep, SweepSettings
from rerunorch.events import RerunFinished, RerunTriggered, SweepListener
from rerunorch.fleet import Fleet, FleetJournal, FleetWorker, fleet_report
from rerunorch.outcome import Outcome
from rerunorch.report.model import SweepReport
from rerunorch.targets import Target
from rerunorch.testing import Simulator


def _settings(sim: Simulator, rounds: int = 3) -> SweepSettings:
    return SweepSettings(base_url=sim.base_url, max_rounds=rounds, concurrency=4)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = redis_server_or_skip(str(tmp_path))  # persistent: a restart keeps the fleet
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _config(settings: SweepSettings) -> dict[str, Any]:
    return {**settings.to_json(), "strategy": settings.strategy}


async def _worker(
    tmp: Path,
    url: str,
    sim: Simulator,
    targets: Sequence[int] | None,
    *,
    name: str = "night",
    digest: str = "d1",
    listener: SweepListener | None = None,
    rounds: int = 3,
    joined: Callable[[], None] = lambda: None,
    window: int | None = None,
) -> tuple[FleetWorker, SweepReport]:
    """One worker to the fleet's end: (the worker, its own part of the sweep)."""
    fleet = Fleet(url, name)
    settings = attrs.evolve(_settings(sim, rounds), window=window)
    try:
        chosen = None if targets is None else [Target(t) for t in targets]
        await fleet.join(chosen, digest, _config(settings))
        joined()
        path = tmp / f"worker-{id(fleet)}.sqlite"
        journal = FleetJournal.open(path, settings={}, fingerprint=digest)
        assert isinstance(journal, FleetJournal)
        worker = FleetWorker(fleet, journal, lease=1.0)
        sweep = Sweep(
            worker.claims(),
            settings,
            api_key=sim.api_key,
            clock=sim.clock,
            journal=journal,
            listener=listener,
        )
        worker.watch(sweep)
        try:
            async with worker.running():
                report = await sweep.run()
                await worker.add_totals(report.summary)
        finally:
            journal.close(finished=True)
        return worker, report
    finally:
        await fleet.close()


async def _merged(url: str, name: str = "night") -> SweepReport:
    fleet = Fleet(url, name)
    try:
        return await fleet_report(fleet)
    finally:
        await fleet.close()


def _seen(outcome: Outcome) -> tuple[object, ...]:
    """What a report says of a target (the ids of reruns aside: they depend on timing)."""
    verdicts = sorted((t.test_case_id, t.verdict.value, t.failures, t.runs) for t in outcome.tests)
    return (
        outcome.outcome,
        outcome.result,
        sorted(outcome.flaky, key=repr),
        sorted(outcome.still_failing, key=repr),
        outcome.rounds,
        verdicts,
    )


@pytest.mark.simulator(targets=24, passed_targets=2, seed=7)
async def test_three_workers_sweep_each_target_once_and_report_as_one_process(
    rerunorch_simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    ids = [*sim.target_ids, *sim.passed_ids]
    async with anyio.create_task_group() as tg:
        parts: list[tuple[FleetWorker, SweepReport]] = []

        async def one() -> None:
            parts.append(await _worker(tmp_path, redis_server.url, sim, ids))

        for _ in range(3):
            tg.start_soon(one)
    merged = await _merged(redis_server.url)
    stats = sim.stats
    assert stats.duplicate_rerun_attempts == 0
    assert sum(worker.claimed for worker, _ in parts) == len(ids), "each target claimed once"
    assert sum(report.summary.targets for _, report in parts) == len(ids)
    assert merged.summary.targets == len(ids)
    assert merged.summary.interrupted == merged.summary.errors == 0
    assert merged.summary.passed > 0
    assert merged.summary.skipped == 2  # the runs that passed
    assert merged.finished_at is not None
    assert stats.reruns_created == merged.summary.rounds

    # The same sweep in one process, against a simulator of the same seed.
    async with Simulator(sim.config, clock=sim.clock) as alone:
        settings = _settings(alone)
        single = await Sweep(ids, settings, api_key=alone.api_key, clock=alone.clock).run()
    fleet = {o.target: _seen(o) for o in merged.results}
    one_process = {o.target: _seen(o) for o in single.results}
    assert fleet == one_process
    ignored = {"requests": 0, "device_seconds": 0, "makespan_seconds": 0}  # by rerun timing
    assert merged.summary.to_json() | ignored == single.summary.to_json() | ignored
    parts_device = sum(report.summary.device_seconds or 0 for _, report in parts)
    assert merged.summary.device_seconds == pytest.approx(parts_device)
    assert merged.summary.makespan_seconds is not None
    assert merged.summary.requests == sum(report.summary.requests for _, report in parts)
    merged.close()
    single.close()


@pytest.mark.simulator(targets=6)
async def test_a_worker_with_other_targets_is_refused_and_one_without_joins(
    rerunorch_simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    from rerunorch.errors import ConfigError

    sim = rerunorch_simulator
    ids = sim.target_ids
    fleet = Fleet(redis_server.url, "night")
    config = _config(_settings(sim))
    await fleet.join([Target(t) for t in ids], "d1", config)
    await fleet.join([Target(t) for t in ids], "d1", config)  # the same: joins
    with pytest.raises(ConfigError, match="sweeps other targets"):
        await fleet.join([Target(t) for t in ids[:3]], "d2", config)
    with pytest.raises(ConfigError, match="other settings: strategy"):
        await fleet.join(None, "", {**config, "strategy": "all"})
    with pytest.raises(ConfigError, match="has no targets yet"):
        await Fleet(redis_server.url, "other").join(None, "", config)
    await fleet.close()
    _, part = await _worker(tmp_path, redis_server.url, sim, None)  # joins, takes them all
    assert part.summary.targets == part.summary.triggered == len(ids)
    assert sim.stats.duplicate_rerun_attempts == 0


class _WhileDown(SweepListener):
    """Stops Redis after the first outcome once ``workers`` have joined; starts it again
    after one more ends."""

    def __init__(self, server: RedisServer, workers: int = 1) -> None:
        self.server = server
        self.down = False
        self.ended_while_down = 0
        self.waiting_for = workers

    def joined(self) -> None:
        self.waiting_for -= 1

    async def rerun_finished(self, event: RerunFinished) -> None:
        if self.waiting_for > 0:
            return
        if self.down:
            self.ended_while_down += 1
            self.server.start()
            self.down = False
        elif self.ended_while_down == 0:
            self.server.stop()
            self.down = True


@pytest.mark.simulator(targets=16, run_duration=(300.0, 900.0), seed=3)
async def test_workers_keep_their_targets_going_while_redis_restarts(
    rerunorch_simulator: Simulator,
    redis_server: RedisServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = rerunorch_simulator
    ids = sim.target_ids
    restarting = _WhileDown(redis_server, workers=2)
    parts: list[tuple[FleetWorker, SweepReport]] = []

    async def one(listener: SweepListener | None) -> None:
        # One round: a target triggered goes on to its end without Redis.
        found = await _worker(
            tmp_path,
            redis_server.url,
            sim,
            ids,
            listener=listener,
            rounds=1,
            joined=restarting.joined,
            window=4,  # so that the first worker leaves the second some to claim
        )
        parts.append(found)

    with anyio.fail_after(120):  # a bound, not a wait: the test ends in about a second
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, restarting)
            tg.start_soon(one, None)
    assert restarting.ended_while_down == 1, "a claimed target went on to its end without Redis"
    notes = [note for worker, _ in parts for note in worker.notes]
    assert any("Redis is unreachable" in note for note in notes), notes
    assert any("Redis answers again" in note for note in notes), notes
    merged = await _merged(redis_server.url)
    assert sim.stats.duplicate_rerun_attempts == 0
    assert merged.summary.targets == merged.summary.triggered == len(ids)
    assert merged.summary.interrupted == merged.summary.errors == 0
    assert sim.stats.reruns_created == merged.summary.rounds
    merged.close()


@pytest.mark.simulator(targets=10, run_duration=(60.0, 400.0), seed=5)
async def test_a_redis_that_restarts_empty_is_said_and_nothing_is_triggered_blind(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    server = redis_server_or_skip()  # no persistence: a restart loses the fleet
    server.start()
    try:
        restarting = _WhileDown(server)
        worker, part = await _worker(
            tmp_path,
            server.url,
            sim,
            sim.target_ids,
            listener=restarting,
            rounds=1,
            joined=restarting.joined,
        )
    finally:
        server.stop()
    assert worker.gone
    assert any("records are gone" in note for note in worker.notes), worker.notes
    assert sim.stats.duplicate_rerun_attempts == 0
    # The targets begun went on to their ends; none was triggered without its record.
    assert part.summary.targets >= 2
    assert sim.stats.reruns_created == part.summary.triggered


class _StopOnTrigger(SweepListener):
    """Winds its sweep down at the first rerun triggered."""

    sweep: Sweep | None = None

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        if self.sweep is not None:
            self.sweep.stop()


@pytest.mark.simulator(targets=8, run_duration=(600.0, 900.0), seed=2)
async def test_a_worker_stopped_gives_its_claims_up_and_another_ends_the_sweep(
    rerunorch_simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    ids = sim.target_ids
    settings = attrs.evolve(_settings(sim, rounds=1), grace=0.0)
    fleet = Fleet(redis_server.url, "night")
    await fleet.join([Target(t) for t in ids], "d1", _config(settings))
    journal = FleetJournal.open(tmp_path / "stopped.sqlite", settings={}, fingerprint="d1")
    assert isinstance(journal, FleetJournal)
    worker = FleetWorker(fleet, journal, lease=30.0)  # a long lease: only giving up frees them
    stopper = _StopOnTrigger()
    sweep = Sweep(
        worker.claims(),
        settings,
        api_key=sim.api_key,
        clock=sim.clock,
        journal=journal,
        listener=stopper,
    )
    stopper.sweep = sweep
    worker.watch(sweep)
    async with worker.running():
        stopped = await sweep.run()
    journal.close(finished=False)
    await fleet.close()
    assert stopped.summary.interrupted >= 1
    assert worker.held >= 1, "claims left unfinished"
    await _worker(tmp_path, redis_server.url, sim, ids, rounds=1)  # its lease: 1 s
    merged = await _merged(redis_server.url)
    assert merged.summary.targets == merged.summary.triggered == len(ids)
    assert merged.summary.interrupted == 0
    assert any("taken over" in note for note in merged.notes), merged.notes
    assert sim.stats.duplicate_rerun_attempts == 0
    assert sim.stats.reruns_created == len(ids)
    merged.close()
