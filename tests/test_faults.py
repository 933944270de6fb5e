"""Faults that must end a sweep, never hang it: a journal that cannot be written, two sweeps on
one journal, a long server-requested pause after a stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from sweep_helpers import StopAfter
from test_cli_resume import environment, sweep_command

from rerunorch import OutcomeKind, RerunTriggered, Sweep, SweepListener, SweepSettings
from rerunorch.clock import Clock
from rerunorch.errors import ConfigError, JournalError
from rerunorch.journal import Journal
from rerunorch.report.model import SweepReport
from rerunorch.testing import Simulator

T = TypeVar("T")

SETTINGS = {"base_url": "http://x", "strategy": "failed", "wait": True, "dry_run": False}
BOUND = 30.0  # real seconds: far beyond what any of these sweeps needs when it works


async def ends(fn: Callable[[], Awaitable[T]], seconds: float = BOUND) -> T:
    """Run ``fn`` in an event loop of its own and fail, not hang, if it does not end.

    A hang inside a shielded scope cannot be cut by ``anyio.fail_after`` from the same
    loop, so the bound is kept from outside: the loop runs in a daemon thread.
    """
    result: list[T] = []
    failure: list[BaseException] = []
    finished = threading.Event()

    def target() -> None:
        try:
            result.append(anyio.run(fn))
        except BaseException as exc:  # handed to the test below
            failure.append(exc)
        finally:
            finished.set()

    threading.Thread(target=target, daemon=True).start()
    assert await anyio.to_thread.run_sync(finished.wait, seconds), f"still running after {seconds}s"
    if failure:
        raise failure[0]
    return result[0]


def settings_for(sim: Simulator, **overrides: object) -> dict[str, object]:
    return {**SETTINGS, "base_url": sim.base_url, **overrides}


def journal_sweep(
    sim: Simulator,
    clock: Clock,
    journal: Journal,
    listener: SweepListener | None = None,
    grace: float = 30.0,
) -> Sweep:
    return Sweep(
        sim.target_ids,
        SweepSettings(base_url=sim.base_url, max_active=10, concurrency=8, grace=grace),
        api_key=sim.api_key,
        clock=clock,
        journal=journal,
        listener=listener,
    )


@contextmanager
def exclusively_locked(path: Path) -> Iterator[None]:
    """Another program holding a write lock on the journal file."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.rollback()
        other.close()


async def resume_to_the_end(sim: Simulator, clock: Clock, path: Path) -> SweepReport:
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True)
    try:
        report = await journal_sweep(sim, clock, journal).run()
    finally:
        journal.close(finished=True)
    assert report.summary.interrupted == 0
    assert sim.stats.duplicate_rerun_attempts == 0
    assert sim.stats.reruns_created == len(sim.target_ids)
    for target in sim.target_ids:
        assert len(sim.reruns_of(target)) == 1, target
    return report


# -- a journal that cannot be written ----------------------------------------------------------


@pytest.mark.simulator(targets=8, passed_targets=0)
async def test_a_journal_another_program_locks_fails_the_sweep_promptly(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t", busy_timeout=0.2)
    sweep = journal_sweep(simulator, simulator_clock, journal)
    with exclusively_locked(path), pytest.raises(JournalError, match="database is locked"):
        await ends(sweep.run)
    journal.close(finished=False)
    assert simulator.stats.reruns_created == 0, "nothing is triggered without its record"
    assert any("could not be written" in note for note in sweep.report.notes)
    assert sweep.report.finished_at is not None
    begun = sweep.report.summary.targets
    assert begun == sweep.progress.started > 0
    assert sweep.report.summary.interrupted == begun
    await resume_to_the_end(simulator, simulator_clock, path)


@pytest.mark.simulator(targets=8, passed_targets=0)
async def test_cancelling_a_sweep_stuck_on_a_locked_journal_ends_it_at_once(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t", busy_timeout=120.0)
    sweep = journal_sweep(simulator, simulator_clock, journal)

    async def cancelled() -> None:
        with anyio.move_on_after(0.3):  # real seconds: the first record is long due by then
            await sweep.run()

    with exclusively_locked(path):
        await ends(cancelled, seconds=10.0)  # not the two minutes the lock would hold it
    journal.close(finished=False)
    assert simulator.stats.reruns_created == 0
    assert sweep.report.summary.interrupted == sweep.report.summary.targets > 0
    await resume_to_the_end(simulator, simulator_clock, path)


class FillTheDisk(SweepListener):
    """After ``count`` reruns, lets the journal's file grow no more (SQLITE_FULL)."""

    def __init__(self, journal: Journal, count: int) -> None:
        self.journal = journal
        self.count = count
        self.seen = 0

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self.seen += 1
        if self.seen == self.count:
            # The connection's own limit: exactly what SQLite does when the disk is full.
            conn = self.journal._conn
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")


class FailureTime(logging.Handler):
    """When (on ``clock``) the journal reported that it could not be written."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.at is None and "could not be written" in record.getMessage():
            self.at = self.clock.monotonic()


@pytest.mark.simulator(targets=200, passed_targets=0, run_duration=(200.0, 400.0))
async def test_a_disk_full_mid_sweep_ends_it_within_the_grace_and_resumes_without_duplicates(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t")
    filler = FillTheDisk(journal, 20)
    # 300 s of the sweep's clock are 0.3 real seconds: room for a loaded machine.
    sweep = journal_sweep(simulator, simulator_clock, journal, listener=filler, grace=300.0)
    failure = FailureTime(simulator_clock)
    logging.getLogger("rerunorch.journal.writer").addHandler(failure)
    try:
        with pytest.raises(JournalError, match="database or disk is full"):
            await ends(sweep.run)
    finally:
        logging.getLogger("rerunorch.journal.writer").removeHandler(failure)
    ended = simulator_clock.monotonic()
    journal.close(finished=False)
    assert failure.at is not None
    assert ended - failure.at < sweep.settings.grace
    assert 0 < simulator.stats.reruns_created < 200
    assert sweep.report.summary.interrupted > 0
    await resume_to_the_end(simulator, simulator_clock, path)


async def test_a_rerun_id_beyond_64_bits_fails_the_journal_not_hangs(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite", settings=SETTINGS, fingerprint="t")

    async def write() -> None:
        async with journal.running():
            await journal.triggering(1, 10)
            await journal.triggered(1, 10, 2**63, adopted=False)

    with pytest.raises(JournalError, match="9223372036854775808"):
        await ends(write)
    assert journal.failure is not None
    journal.close(finished=True)  # a failed journal is never marked finished
    again = Journal.open(tmp_path / "j.sqlite", settings=SETTINGS, fingerprint="t", resume=True)
    assert again.entry(1) is not None
    assert again.meta()["finished"] == "0"
    again.close(finished=False)


async def test_no_durable_write_outlives_a_dead_writer(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t", busy_timeout=0.2)
    committed: list[int] = []
    refused: list[int] = []

    async def write(target: int) -> None:
        try:
            await journal.triggering(target, target * 10)
        except JournalError:
            refused.append(target)
        else:
            committed.append(target)  # the journal said it is on disk

    async def many() -> None:
        async with journal.running(), anyio.create_task_group() as tg:
            for target in range(1, 50):
                tg.start_soon(write, target)

    with exclusively_locked(path), pytest.raises(JournalError, match="database is locked"):
        await ends(many)
    journal.close(finished=False)
    assert committed == []
    assert sorted(refused) == list(range(1, 50)), "every waiter is told"

    # Commits that succeed, then one that fails: each write said committed is on disk.
    committed.clear()
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True)

    async def more() -> None:
        async with journal.running():
            for target in range(1, 10):
                await write(target)
            async with anyio.create_task_group() as tg:
                for target in range(10, 50):
                    tg.start_soon(write, target)
                with pytest.raises(JournalError):
                    await journal.triggered(50, 500, 2**64, adopted=False)

    with pytest.raises(JournalError, match="not a 64-bit id"):
        await ends(more)
    journal.close(finished=False)
    again = Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True)
    assert set(range(1, 10)) <= set(committed)
    assert all(again.entry(target) is not None for target in committed)
    assert again.entry(50) is None
    again.close(finished=False)


# -- one sweep per journal ---------------------------------------------------------------------


def test_a_journal_in_use_is_refused_naming_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = Journal.open(path, settings=SETTINGS, fingerprint="t")
    holder = f"in use by PID {os.getpid()} on {socket.gethostname()}"
    for resume in (False, True):
        with pytest.raises(ConfigError, match=holder):
            Journal.open(path, settings=SETTINGS, fingerprint="t", resume=resume)
    first.close(finished=False)
    Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True).close(finished=False)


HOLD = (
    "import sys\n"
    "from rerunorch.journal import Journal\n"
    "Journal.open(sys.argv[1], settings={}, fingerprint='t')\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"  # until killed
)


async def test_a_lock_left_by_a_killed_sweep_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    command = [sys.executable, "-c", HOLD, str(path)]
    async with await anyio.open_process(command) as holder:
        assert holder.stdout is not None
        assert (await holder.stdout.receive()).startswith(b"holding")
        with pytest.raises(ConfigError, match=f"in use by PID {holder.pid} on "):
            Journal.open(path, settings={}, fingerprint="t", resume=True)
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    lock = anyio.Path(f"{path}.lock")
    left = await lock.read_text()
    assert left.split()[0] == str(holder.pid), "the dead holder's lock file is there"
    journal = Journal.open(path, settings={}, fingerprint="t", resume=True)
    assert await lock.read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    journal.close(finished=False)


@pytest.fixture
def targets_file(simulator: Simulator, tmp_path: Path) -> Path:
    path = tmp_path / "targets.txt"
    path.write_text("\n".join(map(str, simulator.target_ids)) + "\n")
    return path


@pytest.mark.simulator(targets=30, passed_targets=0, run_duration=(3000.0, 3000.0))
async def test_two_sweeps_started_at_once_on_one_journal_only_one_runs(
    simulator: Simulator, simulator_clock: Clock, targets_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    env = environment(simulator)
    command = sweep_command(simulator, targets_file, journal, "--resume")
    with anyio.fail_after(BOUND):
        async with (
            await anyio.open_process(command, env=env) as one,
            await anyio.open_process(command, env=env) as two,
        ):
            refused, running = await _refused_and_running(one, two)
            early = await read_until(running, b"triggered rerun")  # it handles signals now
            assert refused.stderr is not None
            message = b"".join([chunk async for chunk in refused.stderr]).decode()
            assert f"in use by PID {running.pid} on {socket.gethostname()}" in message
            running.send_signal(signal.SIGTERM)  # the runs last 3 s: wind the winner down
            code = await running.wait()
            assert running.stderr is not None
            rest = b"".join([chunk async for chunk in running.stderr]).decode()
            assert code == 3, early + rest
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert simulator.stats.reruns_created <= 30


async def read_until(process: anyio.abc.Process, marker: bytes) -> str:
    """What ``process`` wrote to stderr up to and including ``marker``."""
    assert process.stderr is not None
    buffer = b""
    async for chunk in process.stderr:
        buffer += chunk
        if marker in buffer:
            break
    return buffer.decode()


async def _refused_and_running(
    one: anyio.abc.Process, two: anyio.abc.Process
) -> tuple[anyio.abc.Process, anyio.abc.Process]:
    """The process that exited 2 (there must be exactly one) and the one still running."""
    codes: dict[int, int] = {}
    async with anyio.create_task_group() as tg:

        async def wait(process: anyio.abc.Process) -> None:
            codes[process.pid] = await process.wait()
            tg.cancel_scope.cancel()  # the first to end decides

        tg.start_soon(wait, one)
        tg.start_soon(wait, two)
    assert list(codes.values()) == [2], codes
    refused = one if one.pid in codes else two
    return refused, two if refused is one else one


FULL_DISK = (
    "import resource, runpy, sys\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))\n"
    "sys.argv[0] = 'rerunorch'\n"
    "runpy.run_module('rerunorch', run_name='__main__')\n"
)


@pytest.mark.simulator(targets=200, passed_targets=0, run_duration=(200.0, 2000.0))
async def test_the_command_exits_3_when_the_journal_disk_fills_and_resumes_without_duplicates(
    simulator: Simulator, simulator_clock: Clock, targets_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    env = environment(simulator)
    command = sweep_command(simulator, targets_file, journal, "--quiet")
    # No file of the sweep may grow past 160 kB: the journal's disk is full mid-sweep.
    limited = [sys.executable, "-c", FULL_DISK, "160000", *command[3:]]
    with anyio.fail_after(BOUND):
        failed = await anyio.run_process(limited, env=env, check=False)
    stderr = failed.stderr.decode()
    assert failed.returncode == 3, stderr[-2000:]
    assert "the journal" in stderr
    assert "could not be written" in stderr
    # Where the disk fills (before the first POST, or among the outcomes) depends on how
    # the writes were grouped; every target begun is left to resume either way.
    assert "interrupted: the journal could not be written" in stderr
    with anyio.fail_after(BOUND):
        final = await anyio.run_process([*command, "--resume"], env=env, check=False)
    assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert simulator.stats.reruns_created == 200
    for target in simulator.target_ids:
        assert len(simulator.reruns_of(target)) == 1, target


# -- the grace period --------------------------------------------------------------------------


GRACE = 200.0  # longer than the first poll's wait, shorter than the server's pause


class StopOnFirstTrigger(StopAfter):
    def __init__(self, clock: Clock) -> None:
        super().__init__(1)
        self.clock = clock
        self.stopped_at: float | None = None

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        if self.stopped_at is None:
            self.stopped_at = self.clock.monotonic()
        await super().rerun_triggered(event)


# Two requests bring the target to its trigger; its first poll meets a 600 s Retry-After.
@pytest.mark.simulator(
    targets=1, passed_targets=0, run_duration=(3000.0, 3000.0), rate_limit=1 / 600, rate_burst=2
)
async def test_the_grace_is_kept_during_a_long_retry_after(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    stopper = StopOnFirstTrigger(simulator_clock)
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, grace=GRACE),
        api_key=simulator.api_key,
        clock=simulator_clock,
        listener=stopper,
    )
    stopper.sweep = sweep
    with anyio.fail_after(BOUND):
        report = await sweep.run()
    ended = simulator_clock.monotonic()
    assert stopper.stopped_at is not None
    assert simulator.stats.rate_limited >= 1, "the sweep met the long pause"
    # The server's pause alone would take it to 600 s; the slack is 0.1 real seconds.
    assert ended - stopper.stopped_at < GRACE + 100.0
    [outcome] = report.results
    assert outcome.outcome is OutcomeKind.INTERRUPTED
    assert outcome.error == "the grace period ended"
    assert outcome.rerun_id is not None


# The server's clock runs ten times faster than the sweep's: its token comes back only after
# 60,000 of its seconds, so it asks for more than the 600 s the client believes at most.
@pytest.mark.simulator(
    targets=1, passed_targets=0, run_duration=(3000.0, 3000.0), rate_limit=1 / 60_000, rate_burst=2
)
async def test_a_sigterm_ends_the_command_within_the_grace_during_a_long_retry_after(
    simulator: Simulator, targets_file: Path, tmp_path: Path
) -> None:
    command = sweep_command(simulator, targets_file, tmp_path / "journal.sqlite")
    # At 100 simulated seconds a second, the 30 s grace is 0.3 s; the 600 s pause, 6 s.
    command[command.index("--time-scale") + 1] = "100"
    async with await anyio.open_process(command, env=environment(simulator)) as process:
        with anyio.fail_after(BOUND):
            await read_until(process, b"triggered rerun")
            await read_until(process, b"rate limited")  # the first poll met the pause
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(3.0):  # the grace and the reports, not the server's pause
            assert await process.wait() == 3
    assert simulator.stats.rate_limited >= 1
    assert simulator.stats.reruns_created == 1
