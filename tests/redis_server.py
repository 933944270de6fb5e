"""A real redis-server on 127.0.0.1 for the shared-limit tests (started and stopped by them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from ports import free_port

__all__ = ["RedisServer", "redis_server", "redis_server_or_skip"]


class RedisServer:
    """redis-server; ``stop()`` and ``start()`` again on the same port.

    Without persistence, unless given a ``directory`` for its append-only file (then a
    restart keeps the data, as a production Redis does).
    """

    def __init__(self, binary: str, directory: str | None = None) -> None:
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.directory = directory

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--loglevel",
            "notice",
        ]
        if self.directory is None:
            command += ["--appendonly", "no"]
        else:
            command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", self.directory]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        for line in self.process.stdout:  # its own word that it listens: no polling
            if "Ready to accept connections" in line:
                return
        raise RuntimeError("redis-server ended before it was ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def redis_server_or_skip(directory: str | None = None) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("RERUNORCH_REQUIRE_REDIS"):
            pytest.fail("redis-server is not installed (CI installs it: see .ci/run)")
        pytest.skip("redis-server is not installed")
    return RedisServer(binary, directory)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server without persistence, started for the test and stopped after it."""
    server = redis_server_or_skip()
    server.start()
    try:
        yield server
    finally:
        server.stop()
