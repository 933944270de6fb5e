"""A real `rerunorch sweep` process on a terminal (a pty) and in a log: the live bar, the
summary, and one message on Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

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
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    command = sweep_command(rerunorch_simulator, tmp_path)
    with anyio.fail_after(60):
        async with await anyio.open_process(
            command, env=environment(rerunorch_simulator)
        ) as process:
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


async def on_terminal(
    command: list[str], env: dict[str, str], then: Callable[[Process, bytes], bool]
) -> tuple[int, bytes]:
    """Run ``command`` on a pty; ``then`` hears all output so far after each chunk (it may
    act on the process) until it returns True. Returns the exit code and all output."""
    leader, follower = pty.openpty()
    process = await anyio.open_process(
        command, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
    )
    os.close(follower)
    seen = b""
    done = False
    try:
        with anyio.fail_after(60):
            while True:  # woken by the output, never by a timer
                try:
                    chunk = await anyio.to_thread.run_sync(os.read, leader, 65536)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not chunk:
                    break
                seen += chunk
                done = done or then(process, seen)
    finally:
        os.close(leader)
        with anyio.fail_after(30):
            code = await process.wait()
    return code, seen


@pytest.mark.simulator(targets=20, passed_targets=0, run_duration=(2000.0, 3000.0))
async def test_ctrl_c_on_a_terminal_says_stopping_once(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    def interrupt_once_live(process: Process, seen: bytes) -> bool:
        if b"running" not in seen:  # the live view is not up yet
            return False
        process.send_signal(signal.SIGINT)
        return True

    command = sweep_command(rerunorch_simulator, tmp_path)
    code, seen = await on_terminal(command, environment(rerunorch_simulator), interrupt_once_live)
    assert code == 3
    assert b"\x1b[" in seen, "drawn as on a terminal"
    assert seen.count(STOPPING) == 1, seen.decode(errors="replace")[-3000:]


@pytest.mark.simulator(targets=6, passed_targets=1, run_duration=(20.0, 60.0))
async def test_on_a_terminal_the_bar_has_an_eta_and_the_summary_names_tests(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    command = sweep_command(rerunorch_simulator, tmp_path)
    code, seen = await on_terminal(
        command, environment(rerunorch_simulator), lambda process, seen: True
    )
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert code in (0, 1), text[-3000:]
    total = len(rerunorch_simulator.target_ids)
    bar = rf"sweeping .*━.* \d+/{total} \d:\d\d:\d\d ETA \d:\d\d:\d\d"
    assert re.search(bar, text), text[-3000:]
    assert "rerunorch sweep" in text  # the summary table's title
    assert re.search(r"(tests still failing|flaky tests) \(\d+\)", text), text[-3000:]
    assert "verdict: " in text
