"""The ledger's store on SQLite and on a real PostgreSQL server the tests start themselves."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from ports import free_port
from postgres_server import PASSWORD, PostgresServer, postgres_server_or_skip

from rerunorch.ledger.migrations import LATEST
from rerunorch.ledger.model import FlakeModel, summarize
from rerunorch.ledger.records import FlakeStatus, Observation, TestFlake
from rerunorch.ledger.store import (
    DEFAULT_HISTORY,
    HISTORY_ENV,
    LedgerError,
    LedgerStore,
    LedgerUnavailable,
    history_location,
)
from rerunorch.ledger.tallies import tally
from rerunorch.verdicts import Seen

DAY = 86400.0
BASE = 1.79e9  # 2026-09-22: the ledger's fast sums hold around now


def obs(test: int, seen: Seen, night: int, round: int = 0, **kw: object) -> Observation:
    fields: dict[str, object] = {
        "test_case_id": test,
        "test_case_name": f"test {test}",
        "suite": "Smoke",
        "plan_id": 10,
        "machine": "Chrome",
        "target": 1000 + night,
        "run_id": 1000 + night * 10 + round,
        "round": round,
        "result": "SUCCESS" if seen is Seen.PASS else "FAILURE",
        "seen": seen,
        "at": BASE + night * DAY + round * 60.0,
        "night": f"2026-11-{night:02d}",
        **kw,
    }
    return Observation(**fields)  # type: ignore[arg-type]


def test_observations_go_in_and_tallies_come_out(ledger_url: str) -> None:
    first = [obs(1, Seen.FAIL, 1), obs(1, Seen.PASS, 1, 1, verdict="flaky"), obs(2, Seen.PASS, 1)]
    second = [obs(1, Seen.FAIL, 2), obs(1, Seen.FAIL, 2, 1), obs(1, Seen.FAIL, 2, 2)]
    with LedgerStore.open(ledger_url) as store:
        assert store.version == LATEST
        assert store.record(first) == 3
        store.record(second)
        store.record(first)  # a chain recorded again (a resumed sweep) counts once
        assert store.count() == 6
        tallies = store.tallies()
        assert sorted(tallies, key=lambda t: (t.night, str(t.test))) == sorted(
            tally(first + second), key=lambda t: (t.night, str(t.test))
        )
        assert {t.night for t in store.tallies(since="2026-11-02")} == {"2026-11-02"}
        assert store.tallies(plans={99}) == []
        timeline = store.timeline("1")
        assert [(o.night, o.round, o.seen) for o in timeline] == [
            ("2026-11-01", 0, Seen.FAIL),
            ("2026-11-01", 1, Seen.PASS),
            ("2026-11-02", 0, Seen.FAIL),
            ("2026-11-02", 1, Seen.FAIL),
            ("2026-11-02", 2, Seen.FAIL),
        ]
        assert timeline[1].verdict == "flaky"
        assert timeline[0] == first[0]
        assert store.timeline("test 2") == [first[2]]
    # Opened again: the same ledger, nothing migrated twice.
    with LedgerStore.open(ledger_url) as store:
        flakes = summarize(store.tallies(), now=BASE + 3 * DAY)
        assert {f.test_case_id: f.status for f in flakes} == {
            1: FlakeStatus.FLAKY,
            2: FlakeStatus.PASSING,
        }


def test_a_tally_follows_observations_that_come_in_pieces(ledger_url: str) -> None:
    night = [obs(5, s, 1, r) for r, s in enumerate((Seen.FAIL, Seen.FAIL, Seen.PASS, Seen.FAIL))]
    with LedgerStore.open(ledger_url) as store:
        for o in reversed(night):
            store.record([o])
        assert store.tallies() == tally(night)


def test_sweeps_opening_a_new_ledger_at_once_make_it_once(ledger_url: str) -> None:
    # Fleet workers (or two sweeps) on one machine start together: one creates the schema,
    # the others wait on the migration lock and find it made.
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        start.wait()
        try:
            LedgerStore.open(ledger_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], [str(e) for e in errors]
    with LedgerStore.open(ledger_url) as store:
        assert store.version == LATEST


def test_a_ledger_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    LedgerStore.open(str(path)).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE ledger_meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(
        LedgerError, match=rf"schema 99, newer than this rerunorch knows \({LATEST}\)"
    ):
        LedgerStore.open(str(path))


def test_an_old_ledger_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with sqlite3.connect(path) as db:  # what a version-0 ledger holds: the meta table only
        db.execute("CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    with LedgerStore.open(f"sqlite:///{path}") as store:
        assert store.version == LATEST
        assert store.count() == 0


def test_a_corrupt_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LedgerError, match=r"h\.sqlite is not a rerunorch ledger or is damaged"):
        LedgerStore.open(str(path))
    with pytest.raises(LedgerError, match="is a folder"):
        LedgerStore.open(str(tmp_path))


def test_bad_urls_are_refused(postgres: PostgresServer) -> None:
    with pytest.raises(LedgerError, match=r"unknown scheme 'mysql'"):
        LedgerStore.open("mysql://me:pw@db/x")
    wrong = postgres.url.replace(PASSWORD, "wrong-password")
    with pytest.raises(LedgerError, match="cannot open the history") as caught:
        LedgerStore.open(wrong)
    assert "wrong-password" not in str(caught.value)
    assert "postgresql://rerunorch:***@127.0.0.1" in str(caught.value)
    closed = f"postgresql://rerunorch:{PASSWORD}@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(LedgerError, match="cannot open the history") as caught:
        LedgerStore.open(closed)
    assert PASSWORD not in str(caught.value)
    with pytest.raises(LedgerError, match="cannot open the history"):
        LedgerStore.open(postgres.url.rsplit("/", 1)[0] + "/no_such_database")


def test_a_server_lost_and_back_takes_the_writes_again(tmp_path: Path) -> None:
    server = postgres_server_or_skip()
    server.start()
    try:
        store = LedgerStore.open(server.url)
        store.record([obs(1, Seen.FAIL, 1)])
        server.stop()
        with pytest.raises(LedgerUnavailable, match="could not be written") as caught:
            store.record([obs(1, Seen.PASS, 1, 1)])
        assert PASSWORD not in str(caught.value)
        server.start()
        assert store.record([obs(1, Seen.PASS, 1, 1)]) == 1  # connected again
        assert store.count() == 2
        store.close()
    finally:
        server.close()


def test_where_the_history_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HISTORY_ENV, raising=False)
    assert history_location(None) == DEFAULT_HISTORY
    monkeypatch.setenv(HISTORY_ENV, "postgresql://db/x")
    assert history_location(None) == "postgresql://db/x"
    assert history_location("other.sqlite") == "other.sqlite"


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    LedgerStore.open(str(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def random_history() -> list[Observation]:
    """20 nights of 30 tests on two plans and two machines, reruns until a pass; plan 11
    fails everything on night 12."""
    import random

    rng = random.Random(4)
    rates = {t: (0.0 if t % 3 else rng.random() * 0.6) for t in range(30)}
    rates[29] = 1.0
    history: list[Observation] = []
    for night in range(1, 21):
        for test, rate in rates.items():
            plan = 10 + test % 2
            machine = "Chrome" if test % 4 < 2 else "Safari"
            outage = night == 12 and plan == 11  # plan 11 fails everything that night
            for rerun in range(8):
                failed = (outage and rerun == 0) or rng.random() < rate
                seen = Seen.FAIL if failed else Seen.PASS
                history.append(
                    obs(
                        test,
                        seen,
                        night,
                        rerun,
                        plan_id=plan,
                        machine=machine,
                        target=night * 100 + plan,
                        run_id=night * 1000 + plan * 10 + rerun,
                    )
                )
                if not failed:
                    break
    return history


def test_summaries_summed_in_sql_are_the_models(ledger_url: str) -> None:
    history = random_history()
    now = BASE + 22 * DAY
    with LedgerStore.open(ledger_url) as store:
        store.record(history)
        store.record(history[::7])  # again: the totals count each observation once
        other = FlakeModel(half_life_days=10.0)  # its sums are not kept: one grouped query
        for since, plans, model in (
            (None, None, FlakeModel()),  # the kept totals
            ("2026-11-10", None, FlakeModel()),
            (None, {11}, FlakeModel()),
            (None, None, other),
        ):
            expected = summarize(store.tallies(since=since, plans=plans), now=now, model=model)
            found = store.summaries(now=now, since=since, plans=plans, model=model)
            assert_same(found, expected)
        assert rolled_up_outages(store) == [["plan", "2026-11-12", "11"]]
    assert any(f.status is FlakeStatus.PASSING for f in expected)
    assert any(f.status is FlakeStatus.BROKEN for f in expected)


def test_summaries_kept_night_by_night_are_the_models(ledger_url: str) -> None:
    """Each night recorded in pieces (a machine, then the other's first runs, then its
    reruns): the kept sums grow tally by tally, or are summed again, as the model's."""
    history = random_history()
    now = BASE + 22 * DAY
    with LedgerStore.open(ledger_url) as store:
        for night in range(1, 21):
            tonight = [o for o in history if o.night == f"2026-11-{night:02d}"]
            chrome = [o for o in tonight if o.machine == "Chrome"]
            safari = [o for o in tonight if o.machine == "Safari"]
            for piece in (chrome, [o for o in safari if not o.round], safari):
                store.record(piece)
            if night % 5 == 0 or night == 12:
                assert_same(store.summaries(now=now), summarize(store.tallies(), now=now))
        assert rolled_up_outages(store) == [["plan", "2026-11-12", "11"]]


def test_a_ledger_of_schema_2_gets_its_rollup(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    now = BASE + 22 * DAY
    with LedgerStore.open(str(path)) as store:
        store.record(random_history())
    with sqlite3.connect(path) as db:  # what rerunorch before migration 3 left
        db.execute("DROP TABLE test_rollup")
        db.execute("DELETE FROM ledger_meta WHERE key = 'rollup_outages'")
        db.execute("UPDATE ledger_meta SET value = '2' WHERE key = 'schema'")
    with LedgerStore.open(str(path)) as store:
        assert store.version == LATEST == 3
        assert rolled_up_outages(store) == [["plan", "2026-11-12", "11"]]
        assert_same(store.summaries(now=now), summarize(store.tallies(), now=now))


def assert_same(found: list[TestFlake], expected: list[TestFlake]) -> None:
    """The store's summaries are the model's."""
    # The same rows (ties in rate may differ in order by a float's last bit).
    assert [round(f.rate, 9) for f in found] == [round(f.rate, 9) for f in expected]
    by_id = {f.test_case_id: f for f in found}
    assert set(by_id) == {f.test_case_id for f in expected}
    for want in expected:
        got = by_id[want.test_case_id]
        assert got.status is want.status
        assert (got.runs, got.failures, got.nights) == (want.runs, want.failures, want.nights)
        assert got.rate == pytest.approx(want.rate, rel=1e-9)
        assert got.interval == pytest.approx(want.interval, abs=1e-6)
        assert got.trend == pytest.approx(want.trend, abs=1e-12)
        assert got.last_seen == want.last_seen
        assert got.flip_rate == pytest.approx(want.flip_rate)
        assert got.p_broken == pytest.approx(want.p_broken)
        assert (got.streak_nights, got.quarantined, got.fixed_bound) == (
            want.streak_nights,
            want.quarantined,
            want.fixed_bound,
        )
        assert (got.test_case_name, got.plan_id) == (want.test_case_name, want.plan_id)


def rolled_up_outages(store: LedgerStore) -> object:
    """The outages the failing tests' rollup was summed with (ledger_meta)."""
    rows = store._db().execute("SELECT value FROM ledger_meta WHERE key = 'rollup_outages'")
    return json.loads(rows[0][0])


def test_the_rollup_follows_an_outage_that_comes_late(ledger_url: str) -> None:
    """Test 1 fails on night 2 in a plan whose other tests fail later that night (an
    outage); its rollup is summed again then, and when the outage is no more."""

    def edge(test: int, seen: Seen, night: int, round: int = 0, **kw: object) -> Observation:
        return obs(test, seen, night, round, plan_id=20, machine="Edge", **kw)

    first = [edge(1, Seen.FAIL, 1), edge(1, Seen.PASS, 1, 1)]
    first += [edge(t, Seen.PASS, 1) for t in range(2, 8)]
    first += [edge(1, Seen.FAIL, 2), edge(1, Seen.FAIL, 2, 1)]
    outage = [edge(t, Seen.FAIL, 2) for t in range(2, 8)]
    recovered = [edge(t, Seen.PASS, 2, 1) for t in range(2, 8)]
    late = [edge(t, Seen.PASS, 2, test_case_name=f"late {t}") for t in range(10, 40)]
    now = BASE + 3 * DAY
    with LedgerStore.open(ledger_url) as store:
        for piece in (first, outage):
            store.record(piece)
            assert_same(store.summaries(now=now), summarize(store.tallies(), now=now))
        assert rolled_up_outages(store) == [
            ["machine", "2026-11-02", "Edge"],
            ["plan", "2026-11-02", "20"],
        ]
        one = next(f for f in store.summaries(now=now) if f.test_case_id == 1)
        assert (one.runs, one.failures) == (2, 1)  # night 2's failures are no evidence
        store.record(recovered)
        store.record(late)  # 36 tests that night, 7 failed: no outage now
        assert rolled_up_outages(store) == []
        found = store.summaries(now=now)
        assert_same(found, summarize(store.tallies(), now=now))
        one = next(f for f in found if f.test_case_id == 1)
        assert (one.runs, one.failures) == (4, 3)
