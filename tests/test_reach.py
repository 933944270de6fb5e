"""A server that cannot be reached is said at once, before the sweep sends anything."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from ports import free_port

from rerunorch.api.transport import ConnectError, MockTransport, ReadError, Request, Response
from rerunorch.cli import cli
from rerunorch.cli.reach import ConnectionWatch, OutageGuard, unreachable
from rerunorch.engine import Sweep
from rerunorch.events import RerunFinished
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.settings import SweepSettings
from rerunorch.testing import MockClock


async def test_any_answer_means_reachable_and_the_key_is_not_sent() -> None:
    transport = MockTransport(lambda request: Response(404, body=b"<html>not here</html>"))
    assert await unreachable("https://tenant.example:8443/base", transport=transport) is None
    (probe,) = transport.requests
    assert probe.method == "GET"
    assert str(probe.url) == "https://tenant.example:8443/base"
    assert "Authorization" not in probe.headers
    assert probe.max_body == 1


async def test_a_connection_taken_but_not_answered_counts_as_reachable() -> None:
    def silent(request: Request) -> Response:
        raise ReadError("no answer before the timeout")

    assert await unreachable("http://127.0.0.1:8", transport=MockTransport(silent)) is None


async def test_a_refused_connection_is_said_with_the_url_masked() -> None:
    def refused(request: Request) -> Response:
        raise ConnectError("cannot connect: refused by hunter2's host")

    problem = await unreachable("http://bot:hunter2@ts.local", transport=MockTransport(refused))
    assert problem is not None
    assert problem.startswith("cannot reach http://bot:***@ts.local (cannot connect: refused")
    assert "hunter2" not in problem
    assert "nothing was sent" in problem


async def test_a_closed_port_on_loopback_is_unreachable() -> None:
    port = free_port()
    problem = await unreachable(f"http://127.0.0.1:{port}")
    assert problem is not None
    assert f"cannot reach http://127.0.0.1:{port} (cannot connect:" in problem


def test_a_sweep_against_a_closed_port_ends_at_once_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    port = free_port()
    ids = [str(2000 + n) for n in range(10)]
    url = f"http://bot:hunter2@127.0.0.1:{port}"
    began = time.monotonic()
    result = CliRunner().invoke(
        cli, ["sweep", *ids, "--base-url", url, "--report", "r.json"], catch_exceptions=False
    )
    took = time.monotonic() - began
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: cannot reach http://bot:***@127.0.0.1:{port} (cannot connect: "
        + errors[0].split("(cannot connect: ", 1)[1]
    ]
    assert "check --base-url or TESTSIGMA_BASE_URL" in errors[0]
    assert "hunter2" not in result.output
    assert not any(target in result.output for target in ids), "no line per target"
    assert not (tmp_path / ".rerunorch").exists(), "no journal is begun"
    assert not (tmp_path / "r.json").exists()
    assert took < 10, f"took {took:.1f}s (it took 39s for 10 targets before)"


def lost(target: int, port: int = 9) -> RerunFinished:
    error = f"GET /api/v1/execution_results/{target}: 127.0.0.1:{port} is unreachable: refused"
    return RerunFinished(outcome=Outcome(target=target, outcome=OutcomeKind.ERROR, error=error))


async def test_the_guard_stops_after_three_targets_in_a_row_could_not_reach_the_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep = Sweep([1], SweepSettings(base_url="http://bot:hunter2@127.0.0.1:9"), api_key="k")
    guard = OutageGuard()
    guard.watch(sweep)
    passed = RerunFinished(outcome=Outcome(target=3, outcome=OutcomeKind.PASSED, rerun_id=30))
    other = RerunFinished(outcome=Outcome(target=4, outcome=OutcomeKind.ERROR, error="GET: 404"))
    for event in (lost(1), lost(2), passed, lost(5), other, lost(6), lost(7)):
        await guard.rerun_finished(event)
    assert not sweep.stopping, "a pass or another error starts the count again"
    await guard.rerun_finished(lost(8))
    assert sweep.stopping
    (note,) = sweep.report.notes
    assert note.startswith(
        "stopped: 3 targets in a row could not reach http://bot:***@127.0.0.1:9;"
    )
    assert capsys.readouterr().err == f"error: {note}\n"
    await guard.rerun_finished(lost(9))
    assert len(sweep.report.notes) == 1, "said once"


async def test_a_server_gone_during_a_sweep_ends_it_without_trying_every_target() -> None:
    targets = list(range(3000, 3040))
    # A window of 4 targets at once (1000 by default): the guard stops what comes after it.
    settings = SweepSettings(base_url=f"http://127.0.0.1:{free_port()}", window=4)
    guard = OutageGuard()
    sweep = Sweep(targets, settings, api_key="k", listener=[guard], clock=MockClock(autojump=True))
    guard.watch(sweep)
    with anyio.fail_after(60):
        report = await sweep.run()
    summary = report.summary
    assert summary.targets == 40
    assert summary.errors <= 3 + 4, "only those begun were tried"
    assert summary.interrupted == 40 - summary.errors
    assert report.exit_code == 3
    (note,) = (note for note in report.notes if note.startswith("stopped: "))
    assert re.match(r"stopped: \d+ connections in a row over [5-9]s failed to reach", note)


async def test_the_watch_trips_once_on_failures_in_a_row_over_a_few_seconds() -> None:
    clock = MockClock()
    down = True

    def answer(request: Request) -> Response:
        if down:
            raise ConnectError("refused")
        return Response(200)

    tripped: list[tuple[int, float]] = []
    watch = ConnectionWatch(
        MockTransport(answer), clock, lambda n, s: tripped.append((n, s)), limit=3, patience=5.0
    )
    request = Request("GET", "http://h/x", {}, None, 1.0, 1)  # type: ignore[arg-type]

    async def send() -> None:
        with pytest.raises(ConnectError):
            await watch.send(request)

    for _ in range(4):  # four at once: a blip the client's retries ride out
        await send()
    assert not tripped
    down = False
    await watch.send(request)  # an answer starts the count again
    down = True
    await send()
    clock.advance(3)
    await send()
    clock.advance(2.5)
    assert not tripped
    await send()  # the third in a row, 5.5 s after the first
    assert tripped == [(3, 5.5)]
    await send()
    assert tripped == [(3, 5.5)], "once"
    assert watch.answers == 1


@pytest.fixture
def simulate_process() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    command = [sys.executable, "-m", "rerunorch", "simulate", "--port", "0", "--seed", "5"]
    command += ["--targets", "10", "--passed-targets", "0", "--time-scale", "100"]
    command += ["--run-duration", "600", "900"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline())
    assert match
    try:
        yield match.group(1), process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_server_gone_mid_sweep_ends_it_at_once_with_one_message_and_exit_3(
    simulate_process: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, simulator = simulate_process
    ids = [str(2000 + n) for n in range(10)]
    command = [sys.executable, "-m", "rerunorch", "sweep", *ids, "--base-url", url]
    command += ["--time-scale", "100", "--journal", str(tmp_path / "j.sqlite")]
    env = {"TESTSIGMA_API_KEY": "sim-api-key", "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    sweep = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert sweep.stderr is not None
    seen = []
    for line in sweep.stderr:  # woken by the output, never by a timer
        seen.append(line)
        if sum("triggered rerun" in line for line in seen) == len(ids):
            break
    simulator.kill()
    simulator.wait(timeout=10)
    seen += sweep.stderr.readlines()
    assert sweep.wait(timeout=60) == 3
    assert sweep.stdout is not None
    summary = sweep.stdout.read()
    text = "".join(seen)
    errors = [line for line in seen if line.startswith("error: ")]
    assert len(errors) == 1, text
    assert re.match(
        rf"error: stopped: \d+ connections in a row over \d+s failed to reach {url}; "
        "the sweep ends now [(]continue later with the same command and --resume[)]",
        errors[0],
    ), text
    assert "grace period ended" not in text, "cut at once, not after the grace period"
    assert len(re.findall(r"^\[\d+/10\] \d+: error", text, re.M)) <= 3, text
    assert "journal: " in text
    assert "exit 3, some run could not be rerun to its end." in summary
    # One line for the targets cut, not one per target.
    assert re.search(r"^  10 targets: interrupted: sweep cancelled [(]2000, 2001, ", text, re.M)


def answer_once() -> tuple[int, threading.Thread]:
    """A server that answers one request (the probe), then is gone."""
    server = socket.create_server(("127.0.0.1", 0))
    port = int(server.getsockname()[1])

    def serve() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_a_server_gone_before_it_answered_the_sweep_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    port, server = answer_once()
    args = ["sweep", "2000", "2001", "--base-url", f"http://127.0.0.1:{port}"]
    args += ["--time-scale", "1000", "--report", "r.json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    server.join(timeout=10)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert "connections in a row" in errors[0]
    assert not (tmp_path / "r.json").exists(), "nothing reached the server: no report"
