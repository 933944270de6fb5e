"""``rerunorch sweep --history``, ``rerunorch flaky`` and ``rerunorch history`` on the command line.

The sweeps run against a ``rerunorch simulate`` process (tests/sim_server.py); PostgreSQL
is the real server of tests/postgres_server.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from postgres_server import PASSWORD, PostgresServer, fresh_database
from sim_server import SCALE, Server, serve

from rerunorch.cli import cli
from rerunorch.ledger.recorder import DEFAULT_SPOOL
from rerunorch.ledger.store import DEFAULT_HISTORY, LedgerStore


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--seed", "23", "--targets", "40") as running:
        yield running


@pytest.fixture
def run(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    monkeypatch.setenv("TESTSIGMA_BASE_URL", server.url)
    monkeypatch.delenv("RERUNORCH_HISTORY", raising=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def sweep(*ids: int) -> list[str]:
    return ["sweep", *map(str, ids), "--time-scale", SCALE, "--poll-interval", "1"]


def reruns(server: Server) -> int:
    return int(server.get("/_simulator/stats")["reruns_created"])


def test_a_sweep_records_by_default_and_flaky_and_history_show_it(
    run: Any, server: Server, tmp_path: Path
) -> None:
    ids = server.targets()[:4]
    result = run(*sweep(*ids), "--report", "r.json")
    assert result.exit_code in (0, 1), result.output
    with LedgerStore.open(str(tmp_path / DEFAULT_HISTORY)) as store:
        recorded = store.count()
        timeline_of = next(t for t in store.tallies() if t.failures).test_case_id
    assert recorded > 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["unrecorded_observations"] == 0

    shown = run("flaky", "--json")
    assert shown.exit_code == 0
    data = json.loads(shown.output)
    assert data["tests"]
    assert all(t["failures"] for t in data["tests"])
    assert all(t["status"] in ("flaky", "broken", "fixed", "new") for t in data["tests"])
    # design.md's shape: [lo, hi], around the rate; one-sided at 1 for a test never passing.
    for t in data["tests"]:
        low, high = t["interval"]
        assert 0.0 <= low <= t["rate"] <= high <= 1.0
        assert (high == 1.0) is (t["failures"] == t["runs"])
    everything = json.loads(run("flaky", "--json", "--all").output)["tests"]
    assert all(t["interval"][0] == 0.0 for t in everything if not t["failures"])
    table = run("flaky", "--html", "page.html")
    assert table.exit_code == 0
    page = (tmp_path / "page.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Flaky tests in" in page
    assert "rate (90%)" in table.output
    assert "trend" in table.output

    timeline = run("history", str(timeline_of))
    assert timeline.exit_code == 0, timeline.output
    assert "round 0" in timeline.output
    assert "round 1" in timeline.output
    unknown = run("history", "no such test")
    assert unknown.exit_code == 2  # bad usage: a test the ledger never saw
    assert "exact name" in unknown.output


def test_no_history_records_nothing(run: Any, server: Server, tmp_path: Path) -> None:
    result = run(*sweep(server.targets()[4]), "--no-history")
    assert result.exit_code in (0, 1), result.output
    assert not (tmp_path / DEFAULT_HISTORY).exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: "mysql://me:pw@db/x", "unknown scheme 'mysql'"),
        (lambda p: _corrupt(p), "is not a rerunorch ledger or is damaged"),
        (lambda p: _newer(p), "newer than this rerunorch knows"),
        (lambda p: "postgresql://me:pw@127.0.0.1:1/x", "cannot open the history"),
    ],
)
def test_a_bad_ledger_exits_2_before_any_rerun(
    run: Any, server: Server, tmp_path: Path, make: Any, message: str
) -> None:
    before = reruns(server)
    result = run(*sweep(*server.targets()[5:8]), "--history", make(tmp_path))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert ":pw@" not in result.output
    assert reruns(server) == before


def _corrupt(folder: Path) -> str:
    path = folder / "bad.sqlite"
    path.write_bytes(b"garbage " * 512)
    return str(path)


def _newer(folder: Path) -> str:
    path = folder / "newer.sqlite"
    LedgerStore.open(str(path)).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ledger_meta SET value = '7' WHERE key = 'schema'")
    return str(path)


def test_postgresql_from_the_environment(
    run: Any, server: Server, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database(postgres, "ledger_cli")
    monkeypatch.setenv("RERUNORCH_HISTORY", url)
    result = run(*sweep(*server.targets()[8:11]))
    assert result.exit_code in (0, 1), result.output
    assert PASSWORD not in result.output
    with LedgerStore.open(url) as store:
        assert store.count() > 0
    shown = run("flaky", "--json")
    assert shown.exit_code == 0
    assert json.loads(shown.output)["tests"]


def test_a_ledger_lost_mid_sweep_keeps_the_observations_for_the_next_sweep(
    run: Any, server: Server, postgres: PostgresServer, tmp_path: Path
) -> None:
    from postgres_server import postgres_server_or_skip

    lost = postgres_server_or_skip()
    lost.start()
    try:
        # The server answers when the sweep starts, then goes: the recording fails.
        from rerunorch.cli import recording

        opened = recording.open_ledger

        def open_then_lose(*args: Any, **kw: Any) -> recording.Ledger:
            ledger = opened(*args, **kw)
            lost.stop()
            return ledger

        recording_open = pytest.MonkeyPatch()
        recording_open.setattr(recording, "open_ledger", open_then_lose)
        try:
            result = run(
                *sweep(*server.targets()[11:14]), "--history", lost.url, "--report", "r.json"
            )
        finally:
            recording_open.undo()
        assert result.exit_code in (0, 1), result.output
        report = json.loads((tmp_path / "r.json").read_text())
        kept = report["summary"]["unrecorded_observations"]
        assert kept > 0
        assert any("not recorded" in note and DEFAULT_SPOOL in note for note in report["notes"])
        assert PASSWORD not in result.output
        spool = tmp_path / DEFAULT_SPOOL
        assert len(spool.read_text().splitlines()) == kept
        # Back again: the next sweep writes them first.
        lost.start()
        result = run(*sweep(server.targets()[14]), "--history", lost.url)
        assert result.exit_code in (0, 1), result.output
        assert not spool.exists()
        with LedgerStore.open(lost.url) as store:
            assert store.count() >= kept
    finally:
        lost.close()


def test_flaky_refuses_a_bad_since_and_an_unwritable_html(run: Any, tmp_path: Path) -> None:
    result = run("flaky", "--since", "yesterday-ish")
    assert result.exit_code == 2
    assert "--since" in result.output
    result = run("flaky", "--html", str(tmp_path / "no" / "such" / "dir" / "x.html"))
    assert result.exit_code == 2
    assert "--html" in result.output


def test_the_read_commands_create_no_ledger(run: Any, tmp_path: Path) -> None:
    for command in (["flaky"], ["history", "12"]):
        result = run(*command)
        assert result.exit_code == 2
        assert "no history at" in result.output
    assert not (tmp_path / DEFAULT_HISTORY).exists()


def test_a_dry_run_records_nothing_and_makes_no_ledger(
    run: Any, server: Server, tmp_path: Path
) -> None:
    result = run(*sweep(server.targets()[15]), "--dry-run")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / DEFAULT_HISTORY).exists()
