"""A `rerunorch simulate` process for CLI tests (CliRunner runs its own event loop)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = ["SCALE", "Server", "serve"]

SCALE = "1000"


@attrs.frozen
class Server:
    url: str

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path) as answer:
            return json.load(answer)

    def requests(self) -> int:
        return int(self.get("/_simulator/stats")["requests"])

    def targets(self) -> list[int]:
        return self.get("/_simulator/targets")["targets"]  # type: ignore[no-any-return]


@contextlib.contextmanager
def serve(*options: str) -> Iterator[Server]:
    """Serve the simulator on a free port of 127.0.0.1 until the block ends."""
    command = [sys.executable, "-m", "rerunorch", "simulate", "--port", "0", "--time-scale", SCALE]
    process = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
    assert match, first
    try:
        yield Server(match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=10)
