"""A real PostgreSQL server on 127.0.0.1 for the ledger's tests (started and stopped by them).

``initdb`` into a fresh temporary folder, then ``postgres -k FOLDER -p PORT``. PostgreSQL
refuses to run as root, and CI runs the tests as root: then both run as the user
``nobody`` (``subprocess``'s ``user=``/``group=``), in a folder under /tmp made theirs
(pytest's own temporary folders are root's alone, mode 0700). The server takes a
password over TCP (scram), so the tests also see it masked in every message.

Without the binaries (/usr/lib/postgresql/*/bin) the tests skip, unless
RERUNORCH_REQUIRE_POSTGRES=1 (set by .ci/run, which installs them).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ports import free_port

__all__ = ["PASSWORD", "PostgresServer", "ledger_url", "postgres", "postgres_server_or_skip"]

PASSWORD = "s3cret-pg-pw"
USER = "rerunorch"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One throwaway cluster; ``stop()`` and ``start()`` again keep its port and data."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rerunorch-pg-"))
        self.data = self.root / "data"
        self.process: subprocess.Popen[str] | None = None
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as nobody
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self._as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self._initdb()

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def _initdb(self) -> None:
        password_file = self.root / "pw"
        password_file.write_text(PASSWORD)
        if self._as:
            os.chown(password_file, self._as["user"], self._as["group"])
        subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--pwfile",
                str(password_file),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=self.root,
            **self._as,
        )

    def start(self) -> None:
        command = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data),
            "-k",
            str(self.root),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
        ]
        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, text=True, cwd=self.root, **self._as
        )
        assert self.process.stderr is not None
        seen = []
        for line in self.process.stderr:  # its own word that it listens: no polling
            seen.append(line)
            if "ready to accept connections" in line:
                # Keep reading its log, so that a full pipe never blocks it.
                threading.Thread(target=self.process.stderr.read, daemon=True).start()
                return
        raise RuntimeError("postgres ended before it was ready:\n" + "".join(seen[-20:]))

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: clients are cut
            self.process.wait(timeout=30)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_server_or_skip() -> PostgresServer:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("RERUNORCH_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not installed (CI installs it: see .ci/run)")
        pytest.skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
    return PostgresServer(bin_dir)


# -- fixtures (tests/conftest.py makes them every test module's) -----------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server for the session; each test that needs a clean one takes a fresh database."""
    server = postgres_server_or_skip()
    server.start()
    try:
        yield server
    finally:
        server.close()


def fresh_database(server: PostgresServer, name: str) -> str:
    """A new, empty database ``name`` on ``server``: its URL."""
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name}")
        db.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty ledger: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    server = request.getfixturevalue("postgres")
    name = "".join(c for c in request.node.name.split("[")[0].lower() if c.isalnum())
    return fresh_database(server, "ledger_" + name[-40:])
