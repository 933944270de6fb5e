"""Killing and interrupting a real `rerunorch sweep` process, then resuming it."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

from rerunorch.clock import Clock
from rerunorch.testing import Simulator

TIME_SCALE = "1000"  # the sweep's clock; the simulator fixture runs at the same pace


def sweep_command(sim: Simulator, targets: Path, journal: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rerunorch",
        "sweep",
        "--from-file",
        str(targets),
        "--base-url",
        sim.base_url,
        "--journal",
        str(journal),
        "--time-scale",
        TIME_SCALE,
        "--concurrency",
        "16",
        "--max-rounds",  # one rerun per target (rounds: tests/test_rounds.py)
        "1",
        *extra,
    ]


def environment(sim: Simulator) -> dict[str, str]:
    return {**os.environ, "TESTSIGMA_API_KEY": sim.api_key, "PYTHONUNBUFFERED": "1"}


async def read_lines(process: Process, count: int) -> int:
    """Read progress lines from the sweep's stderr until ``count`` have come (or it ended)."""
    assert process.stderr is not None
    seen = 0
    buffer = b""
    async for chunk in process.stderr:
        buffer += chunk
        seen = buffer.count(b"\n")
        if seen >= count:
            break
    return seen


@pytest.fixture
def targets_file(simulator: Simulator, tmp_path: Path) -> Path:
    path = tmp_path / "targets.txt"
    path.write_text("\n".join(map(str, simulator.target_ids)) + "\n")
    return path


@pytest.mark.simulator(targets=500, passed_targets=0, run_duration=(20.0, 200.0))
async def test_killed_five_times_then_resumed_reruns_each_target_once(
    simulator: Simulator, simulator_clock: Clock, targets_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.json"
    rng = random.Random(4)
    env = environment(simulator)
    for round_ in range(5):
        extra = ["--resume"] if round_ else []
        command = sweep_command(simulator, targets_file, journal, *extra)
        async with await anyio.open_process(command, env=env) as process:
            await read_lines(process, rng.randint(5, 150))
            process.send_signal(signal.SIGKILL)
            await process.wait()
    final = await anyio.run_process(
        [*sweep_command(simulator, targets_file, journal, "--resume", "--report", str(report))],
        env=env,
        check=False,
    )
    assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
    stats = simulator.stats
    assert stats.duplicate_rerun_attempts == 0
    assert stats.reruns_created == 500
    for target in simulator.target_ids:
        assert len(simulator.reruns_of(target)) == 1, target
    data = json.loads(report.read_text())
    assert sorted(r["target"] for r in data["results"]) == sorted(simulator.target_ids)
    assert data["summary"]["interrupted"] == 0
    assert data["summary"]["errors"] == 0


@pytest.mark.simulator(targets=60, passed_targets=0, run_duration=(2000.0, 3000.0))
async def test_ctrl_c_stops_new_triggers_writes_reports_and_resumes(
    simulator: Simulator, simulator_clock: Clock, targets_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.json"
    env = environment(simulator)
    command = sweep_command(
        simulator, targets_file, journal, "--report", str(report), "--max-active", "10"
    )
    async with await anyio.open_process(command, env=env) as process:
        await read_lines(process, 10)  # ten reruns triggered; the rest wait for a slot
        process.send_signal(signal.SIGINT)
        assert await process.wait() == 3
    data = json.loads(report.read_text())
    assert data["summary"]["interrupted"] == data["summary"]["targets"] == 60
    created = simulator.stats.reruns_created
    assert created <= 10 + 16  # nothing new after the signal beyond what was in flight

    final = await anyio.run_process(
        sweep_command(simulator, targets_file, journal, "--resume", "--report", str(report)),
        env=env,
        check=False,
    )
    assert final.returncode in (0, 1), final.stderr.decode()[-2000:]
    assert simulator.stats.reruns_created == 60
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert json.loads(report.read_text())["summary"]["targets"] == 60


@pytest.mark.simulator(
    targets=10, passed_targets=0, run_duration=(2000.0, 3000.0), revoke_key_after=12
)
async def test_a_key_revoked_mid_sweep_writes_the_reports_and_exits_3(
    simulator: Simulator, simulator_clock: Clock, targets_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    report = tmp_path / "report.json"
    command = sweep_command(simulator, targets_file, journal, "--report", str(report))
    done = await anyio.run_process(command, env=environment(simulator), check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 3, stderr[-2000:]
    assert "error: the server refused the API key (Incorrect API Key)" in stderr
    assert simulator.stats.reruns_created >= 2  # 12 requests for 10 targets: some POSTs went
    data = json.loads(report.read_text())
    assert data["summary"]["triggered"] == simulator.stats.reruns_created
    assert any("refused the API key" in note for note in data["notes"])
    assert any("--resume" in note for note in data["notes"]), "the journal is left to resume"
