"""Ctrl-C on a real `rerunorch sweep` process: one message, in a log and on a terminal."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from rerunorch.clock import Clock
from rerunorch.testing import Simulator

STOPPING = b"stopping: no new reruns"


def sweep_command(sim: Simulator, tmp_path: Path) -> list[str]:
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(map(str, sim.target_ids)) + "\n")
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
        str(tmp_path / "journal.sqlite"),
        "--time-scale",
        "1000",
        "--max-active",
        "4",
    ]


def environment(sim: Simulator) -> dict[str, str]:
    env = {**os.environ, "TESTSIGMA_API_KEY": sim.api_key, "PYTHONUNBUFFERED": "1"}
    env.pop("NO_COLOR", None)
    return {**env, "COLUMNS": "80", "TERM": "xterm-256color"}


@pytest.mark.simulator(targets=20, passed_targets=0, run_duration=(2000.0, 3000.0))
async def test_ctrl_c_in_a_log_says_stopping_once(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    command = sweep_command(simulator, tmp_path)
    with anyio.fail_after(60):
        async with await anyio.open_process(command, env=environment(simulator)) as process:
            assert process.stderr is not None
            seen = b""
            async for chunk in process.stderr:  # woken by the output, never by a timer
                seen += chunk
                if b"triggered rerun" in seen:
                    break
            process.send_signal(signal.SIGINT)
            async for chunk in process.stderr:
                seen += chunk
            assert await process.wait() == 3
    text = seen.decode()
    assert seen.count(STOPPING) == 1, text
    assert "stopping: no new reruns; following running ones for 30s (Ctrl-C again" in text
    assert "WARNING" not in text


@pytest.mark.simulator(targets=20, passed_targets=0, run_duration=(2000.0, 3000.0))
async def test_ctrl_c_on_a_terminal_says_stopping_once(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    leader, follower = pty.openpty()
    process = await anyio.open_process(
        sweep_command(simulator, tmp_path),
        env=environment(simulator),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    try:
        with anyio.fail_after(60):
            while b"running" not in seen:  # the live view is up
                seen += await anyio.to_thread.run_sync(os.read, leader, 65536)
            process.send_signal(signal.SIGINT)
            while True:
                try:
                    chunk = await anyio.to_thread.run_sync(os.read, leader, 65536)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not chunk:
                    break
                seen += chunk
    finally:
        os.close(leader)
        with anyio.fail_after(30):
            code = await process.wait()
    assert code == 3
    assert b"\x1b[" in seen, "drawn as on a terminal"
    assert seen.count(STOPPING) == 1, seen.decode(errors="replace")[-3000:]
