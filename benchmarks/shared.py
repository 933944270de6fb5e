"""``shared-pacing``: four sweep processes on one account, with and without a shared limit.

The simulator (its own process) limits the account to ``RATE`` requests per
second. Four ``rerunorch sweep --shard I/4`` processes each take a quarter of
the targets, trigger only, each told ``--rate RATE``: alone, each believes it
has the whole quota (4x too much together) and relies on 429s and adaptation;
with ``--shared-limit redis://...`` they share one bucket in Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from common import API_KEY, SimProcess, emit, sim_process

__all__ = ["shared_pacing"]

RATE, BURST = 50.0, 10
_LIMIT = 600.0  # wall seconds one configuration may take


@contextmanager
def _redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("shared-pacing needs redis-server (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Ready to accept connections" in line:
                break
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _four(sim: SimProcess, targets: Path, work: Path, shared: str | None) -> float:
    env = {**os.environ, "TESTSIGMA_API_KEY": API_KEY}
    extra = ["--shared-limit", shared] if shared else []
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rerunorch",
                "sweep",
                "--from-file",
                str(targets),
                "--base-url",
                sim.base_url,
                "--shard",
                f"{i}/4",
                "--no-wait",
                "-q",
                "--rate",
                str(RATE),
                "--burst",
                str(BURST),
                "--concurrency",
                "8",
                "--journal",
                str(work / f"j-{i}-{bool(shared)}.sqlite"),
                *extra,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(1, 5)
    ]
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, _LIMIT - (time.monotonic() - started)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return time.monotonic() - started


async def shared_pacing(*, quick: bool) -> list[dict[str, Any]]:
    """Rows: without and with the shared limit."""
    count = 40 if quick else 400
    rows = []
    with _redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for shared in (None, redis_url):
            sim_options = [
                "--targets",
                str(count),
                "--passed-targets",
                "0",
                "--rate-limit",
                str(RATE),
                "--burst",
                str(BURST),
            ]
            with sim_process(*sim_options) as sim:
                targets = work / "targets.txt"
                targets.write_text("\n".join(map(str, sim.targets())) + "\n")
                elapsed = _four(sim, targets, work, shared)
                stats = sim.stats()
            requests = stats["requests"]
            rows.append(
                emit(
                    "shared-pacing",
                    shared_limit=bool(shared),
                    processes=4,
                    targets=count,
                    server_rate=RATE,
                    server_burst=BURST,
                    elapsed_seconds=round(elapsed, 3),
                    requests=requests,
                    rate_limited=stats["rate_limited"],
                    ratio_to_ideal=round(elapsed / (requests / RATE), 3),
                    rate_limited_fraction=round(stats["rate_limited"] / requests, 4),
                    reruns_created=stats["reruns_created"],
                    duplicates=stats["duplicate_rerun_attempts"],
                )
            )
    return rows
