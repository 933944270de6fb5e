"""The journal: what it records, what it refuses, and resuming from it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from sweep_helpers import StopAfter

from rerunorch import ConfigError, OutcomeKind, Sweep, SweepSettings
from rerunorch.clock import Clock
from rerunorch.journal import Journal, JournalEntry, State
from rerunorch.outcome import Outcome
from rerunorch.testing import Simulator

SETTINGS = {"base_url": "http://x", "strategy": "failed", "wait": True, "dry_run": False}


async def test_records_states_durably_and_reads_them_back(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="abc")
    async with journal.running():
        await journal.triggering(1, 10)
        await journal.triggered(2, 20, 21, adopted=False)
        await journal.triggering(3, 30)
        await journal.triggered(3, 30, 31, adopted=True)
        await journal.finished(Outcome(target=3, outcome=OutcomeKind.PASSED, rerun_id=31))
        await journal.finished(Outcome(target=4, outcome=OutcomeKind.INTERRUPTED))
    journal.close(finished=False)

    again = Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    assert again.resumed
    assert again.entry(1) == JournalEntry(State.TRIGGERING, 10, None, False)
    assert again.entry(2) == JournalEntry(State.TRIGGERED, 20, 21, False)
    assert again.entry(3) is not None
    assert again.entry(3).state == State.DONE  # type: ignore[union-attr]
    assert again.entry(4) is None, "an interrupted target is left to be resumed"
    outcome = again.outcome(3)
    assert outcome is not None
    assert outcome.outcome is OutcomeKind.PASSED
    kinds = {o.target: o.outcome for o in again.outcomes()}
    assert kinds == {1: OutcomeKind.INTERRUPTED, 2: OutcomeKind.INTERRUPTED, 3: OutcomeKind.PASSED}
    again.close(finished=True)


async def _journal_with_a_target(path: Path) -> None:
    journal = Journal.open(path, settings=SETTINGS, fingerprint="abc")
    async with journal.running():
        await journal.triggering(1, 10)
    journal.close(finished=False)


async def test_an_unfinished_journal_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    await _journal_with_a_target(path)
    with pytest.raises(ConfigError, match="--resume"):
        Journal.open(path, settings=SETTINGS, fingerprint="abc")


async def test_resuming_other_targets_or_settings_is_refused_unless_forced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.sqlite"
    await _journal_with_a_target(path)
    with pytest.raises(ConfigError, match="other targets"):
        Journal.open(path, settings=SETTINGS, fingerprint="xyz", resume=True)
    with pytest.raises(ConfigError, match="strategy 'failed' -> 'all'"):
        Journal.open(path, settings={**SETTINGS, "strategy": "all"}, fingerprint="abc", resume=True)
    with pytest.raises(ConfigError, match="shard None -> '2/3'"):
        Journal.open(path, settings={**SETTINGS, "shard": "2/3"}, fingerprint="abc", resume=True)
    forced = Journal.open(path, settings=SETTINGS, fingerprint="xyz", resume=True, force=True)
    assert forced.entry(1) is not None
    forced.close(finished=False)
    # Pacing may change between runs.
    Journal.open(path, settings={**SETTINGS, "rate": 3}, fingerprint="abc", resume=True).close(
        finished=False
    )


@pytest.mark.parametrize("content", [b"this is not sqlite at all" * 100, b""])
def test_a_corrupt_file_gives_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a rerunorch journal"):
        Journal.open(path, settings=SETTINGS, resume=True)


def test_a_foreign_sqlite_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(ConfigError, match="not a rerunorch journal"):
        Journal.open(path, settings=SETTINGS, resume=True)


def _sweep(sim: Simulator, clock: Clock, journal: Journal, **settings: object) -> Sweep:
    return Sweep(
        sim.target_ids,
        SweepSettings(base_url=sim.base_url, **settings),  # type: ignore[arg-type]
        api_key=sim.api_key,
        clock=clock,
        journal=journal,
    )


@pytest.mark.simulator(targets=40, run_duration=(100.0, 200.0))
async def test_a_stopped_sweep_resumes_without_triggering_twice(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t")
    stopper = StopAfter(10)
    first = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, max_active=10, grace=0.0),
        api_key=simulator.api_key,
        clock=simulator_clock,
        journal=journal,
        listener=stopper,
    )
    stopper.sweep = first
    report = await first.run()
    journal.close(finished=False)
    assert report.summary.interrupted > 0
    assert simulator.stats.reruns_created < 40

    resumed_journal = Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True)
    second = await _sweep(simulator, simulator_clock, resumed_journal).run()
    resumed_journal.close(finished=True)
    assert simulator.stats.reruns_created == 40
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert second.summary.targets == 40
    assert second.summary.interrupted == 0
    for target in simulator.target_ids:
        assert len(simulator.reruns_of(target)) == 1


@pytest.mark.simulator(targets=6)
async def test_a_target_caught_triggering_is_adopted_on_resume(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    # Trigger every rerun, then pretend the sweep died right after each POST went out.
    await Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, wait=False),
        api_key=simulator.api_key,
        clock=simulator_clock,
    ).run()
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path, settings=SETTINGS, fingerprint="t")
    async with journal.running():
        for target in simulator.target_ids:
            await journal.triggering(target, target)
    journal.close(finished=False)

    resumed = Journal.open(path, settings=SETTINGS, fingerprint="t", resume=True)
    report = await _sweep(simulator, simulator_clock, resumed).run()
    assert simulator.stats.reruns_created == 6
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert all(o.adopted for o in report.results)
    assert {o.outcome for o in report.results} <= {OutcomeKind.PASSED, OutcomeKind.FAILED}


SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE targets (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, head_id INTEGER, rerun_id INTEGER,
    adopted INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT,
    error TEXT, result TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL
);
"""


def _old_journal(path: Path, version: int) -> None:
    """A journal as an earlier (or later) rerunorch wrote it, caught ``triggering`` target 1."""
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_1)
        conn.execute("PRAGMA application_id = 1381125711")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("settings", json.dumps(SETTINGS)), ("fingerprint", "abc"), ("finished", "0")],
        )
        conn.execute(
            "INSERT INTO targets (id, state, head_id, attempts, created_at, updated_at) "
            "VALUES (1, 'triggering', 10, 1, 0, 0)"
        )


async def test_a_schema_1_journal_is_read_and_resumed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _old_journal(path, version=1)
    journal = Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    assert journal.entry(1) == JournalEntry(State.TRIGGERING, 10, None, False)
    async with journal.running():
        await journal.triggering(2, 20)
        await journal.triggered(1, 10, 11, adopted=True)
    journal.close(finished=False)
    again = Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    assert again.entry(1) == JournalEntry(State.TRIGGERED, 10, 11, True)
    assert again.entry(2) == JournalEntry(State.TRIGGERING, 20, None, False)
    again.close(finished=False)


def test_a_journal_of_an_unknown_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _old_journal(path, version=7)
    with pytest.raises(ConfigError, match="schema 7, which this rerunorch cannot read"):
        Journal.open(path, settings=SETTINGS, fingerprint="abc", resume=True)
    with pytest.raises(ConfigError, match="schema 7"):
        Journal.open(path, settings=SETTINGS, fingerprint="abc")


def test_a_new_journal_has_no_attempts_column_and_schema_3(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal.open(path, settings=SETTINGS, fingerprint="abc").close(finished=False)
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(targets)")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert "attempts" not in columns
    assert "round" in columns
    assert version == 3
