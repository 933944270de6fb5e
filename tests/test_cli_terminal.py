"""A real `rerunorch sweep` process on a terminal (a pty) and in a log: the live bar, the
summary, and one message on Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import shlex
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


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n


@pytest.mark.simulator(targets=6, passed_targets=0, run_duration=(20.0, 60.0))
async def test_under_script_the_bar_has_an_eta_and_piped_there_are_no_control_characters(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    """`script` (util-linux) gives the sweep a terminal, as a user's shell does."""
    command = sweep_command(rerunorch_simulator, tmp_path)
    env = environment(rerunorch_simulator)
    line = " ".join(shlex.quote(part) for part in command)
    with anyio.fail_after(60):
        shown = await anyio.run_process(
            ["script", "-qfec", line, "/dev/null"], env=env, check=False
        )
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\", "", shown.stdout.decode())
    assert shown.returncode == 1, text[-3000:]
    bar = r"sweeping .*━.* \d+/6 \d:\d\d:\d\d ETA \d:\d\d:\d\d"
    assert re.search(bar, text), text[-3000:]
    failing = re.search(r"tests still failing \((\d+)\)\r?\n  plan \d+, run \d+", text)
    assert failing, text[-3000:]
    assert re.search(r"\n    \S.*  (broken|undecided|not_run): failed \d+ of \d+ runs", text)

    (tmp_path / "journal.sqlite").unlink()
    with anyio.fail_after(60):
        piped = await anyio.run_process(
            [*command, "--journal", str(tmp_path / "j2")], env=env, check=False
        )
    out = piped.stdout.decode() + piped.stderr.decode()
    assert piped.returncode == 1, out[-3000:]
    assert not CONTROL.search(out), repr(CONTROL.search(out))
    assert "verdict: " in out
    assert re.search(r"\n  still failing: plan \d+, run \d+ → rerun \d+: https://", out)


COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")  # a foreground colour


@pytest.mark.simulator(targets=4, passed_targets=0, run_duration=(20.0, 60.0))
async def test_no_color_draws_the_terminal_without_colours(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock, tmp_path: Path
) -> None:
    command = sweep_command(rerunorch_simulator, tmp_path)
    coloured = environment(rerunorch_simulator)
    code, seen = await on_terminal(command, coloured, lambda process, seen: True)
    assert code == 1
    assert COLOUR.search(seen.decode(errors="replace")), "in colour by default"
    (tmp_path / "journal.sqlite").unlink()
    plain = {**coloured, "NO_COLOR": "1"}
    code, seen = await on_terminal(command, plain, lambda process, seen: True)
    text = seen.decode(errors="replace")
    assert code == 1
    assert "\x1b[" in text, "still drawn as on a terminal"
    assert not COLOUR.search(text), COLOUR.search(text)
    assert "verdict: " in text
