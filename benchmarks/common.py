"""What every scenario shares: the machine's description, the output line, and a
simulator served by a separate process.

Every network target is 127.0.0.1; every process started here is stopped by its
own id when the block that started it ends, and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import platform
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["API_KEY", "SimProcess", "emit", "machine", "sim_process"]

API_KEY = "sim-api-key"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """The keys that say where a figure came from."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def emit(scenario: str, **fields: Any) -> dict[str, Any]:
    """Print one measurement as one JSON line (and return it)."""
    row = {"scenario": scenario, **fields, **machine()}
    print(json.dumps(row, sort_keys=False), flush=True)
    return row


class SimProcess:
    """A ``rerunorch simulate`` process (see :func:`sim_process`)."""

    def __init__(self, proc: subprocess.Popen[str], base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self.api_key = API_KEY

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stats(self) -> dict[str, Any]:
        """The simulator's counters (``/_simulator/stats``)."""
        with urllib.request.urlopen(f"{self.base_url}/_simulator/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def targets(self) -> list[int]:
        """The seeded failing runs (``/_simulator/targets``)."""
        with urllib.request.urlopen(f"{self.base_url}/_simulator/targets", timeout=30) as resp:
            ids: list[int] = json.loads(resp.read())["targets"]
        return ids


@contextmanager
def sim_process(*options: str) -> Iterator[SimProcess]:
    """Serve the simulator in its own process on a free 127.0.0.1 port.

    Args:
        options: Extra ``rerunorch simulate`` options (``--targets``, ``--seed``, ...).
    """
    command = [
        sys.executable,
        "-m",
        "rerunorch",
        "simulate",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *options,
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
    )
    try:
        base_url = _read_base_url(proc)
        yield SimProcess(proc, base_url)
    finally:
        _stop(proc)


def _read_base_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            break
        line = proc.stdout.readline()  # the first line comes as soon as it listens
        if not line:
            break
        if " on http://" in line:
            return line.split(" on ", 1)[1].split()[0]
    raise RuntimeError(f"the simulator did not start (exit code {proc.poll()})")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=_STOP_TIMEOUT)
    if proc.stdout is not None:
        proc.stdout.close()
