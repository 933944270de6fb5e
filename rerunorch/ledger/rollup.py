"""Each test summed up without reading every tally: what makes ``rerunorch flaky`` fast.

:func:`~rerunorch.ledger.model.summarize` reads every tally of every test. The store keeps,
as tallies are written, what the model needs of each test, and :func:`summaries` reads that:

- over the whole ledger, the tests that never failed from ``test_totals`` (one row a test,
  kept up to date by :func:`update`): their passes weighted ``2^((last_at - REF) / H)`` at a
  fixed reference time, turned into the model's weight at ``now`` by one factor, and the
  nights' outages from ``night_groups``;
- the tests that failed from ``test_rollup`` (kept by :func:`refresh`): the model's own
  sums over their tallies that do not depend on "now" (streak, flips, final result, ...),
  summed with the outages of that moment (kept beside it: a reader that finds others, or a
  model with another half-life or outage rule, reads their tallies instead), and their
  failures and passes weighted at the reference time;
- the trend's recent side, for every test, from one grouped query over the last nights;
- for ``--since``/``--plan``, from one grouped query over those tallies, and the failing
  tests' tallies one by one.

All give what :func:`~rerunorch.ledger.model.summarize` gives (tests/test_ledger_store.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import attrs

from rerunorch.ledger.backends import Backend
from rerunorch.ledger.model import (
    FlakeModel,
    OutageKeys,
    TestSums,
    flake_of,
    flakiest_first,
    mark,
    test_sums,
)
from rerunorch.ledger.records import TestFlake
from rerunorch.ledger.rows import TALLY_COLUMNS, stored_key, tally, where
from rerunorch.ledger.tallies import NightTally, by_test, in_time
from rerunorch.verdicts import Seen

__all__ = [
    "DECAY_HALF_LIFE",
    "DECAY_REF",
    "Changes",
    "rebuild",
    "rebuild_rollup",
    "refresh",
    "summaries",
    "update",
]

DECAY_REF = 1.7e9
"""The reference time of ``test_totals.weighted_passes`` (2023-11-14)."""
DECAY_HALF_LIFE = FlakeModel().half_life_days * 86400.0
"""The half-life it is weighted with; a model with another one takes the grouped query."""
_DAY = 86400.0
_KEPT = FlakeModel()
"""The model whose outages ``test_rollup`` is summed with (a model with others reads tallies)."""
_ROLLUP_OUTAGES = "rollup_outages"
_CHUNK = 400
_SEEN = {seen.value: seen for seen in Seen}


def _weight_at_ref(last_at: float) -> float:
    exponent = (last_at - DECAY_REF) / DECAY_HALF_LIFE
    return float(2.0 ** min(exponent, 1000.0))  # beyond: refused by the fast path (inf)


# -- keeping the totals ---------------------------------------------------------------------


def update(db: Backend, old: Sequence[NightTally], new: Sequence[NightTally]) -> None:
    """Add to ``test_totals`` and ``night_groups`` what replacing tallies ``old`` by ``new``
    (those of the same tests and night) changes."""
    deltas: dict[str, list[Any]] = {}
    for sign, tallies in ((-1, old), (1, new)):
        for t in tallies:
            key = stored_key(t.test_case_id, t.test_case_name)
            d = deltas.setdefault(key, [t, 0, 0, 0, 0.0, set(), set()])
            d[1] += sign * t.runs
            d[2] += sign * t.failures
            d[3] += sign
            d[4] += sign * t.passes * _weight_at_ref(t.last_at)
            (d[5] if sign < 0 else d[6]).add(t.night)
            if sign > 0 and t.last_at >= d[0].last_at:
                d[0] = t
    rows = []
    for key, (t, runs, failures, count, weighted, before, after) in deltas.items():
        nights = len(after - before) - len(before - after)
        test = (key, t.test_case_id, t.test_case_name, t.plan_id or 0)
        rows.append((*test, runs, failures, count, nights, weighted, t.last_at))
    db.executemany(
        "INSERT INTO test_totals (test_key, test_case_id, test_case_name, plan_id, runs, "
        "failures, tally_rows, nights, weighted_passes, last_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (test_key) DO UPDATE SET "
        "runs = test_totals.runs + excluded.runs, "
        "failures = test_totals.failures + excluded.failures, "
        "tally_rows = test_totals.tally_rows + excluded.tally_rows, "
        "nights = test_totals.nights + excluded.nights, "
        "weighted_passes = test_totals.weighted_passes + excluded.weighted_passes, "
        "test_case_name = CASE WHEN excluded.last_at >= test_totals.last_at "
        "THEN COALESCE(excluded.test_case_name, test_totals.test_case_name) "
        "ELSE test_totals.test_case_name END, "
        "plan_id = CASE WHEN excluded.last_at >= test_totals.last_at "
        "THEN excluded.plan_id ELSE test_totals.plan_id END, "
        "last_at = CASE WHEN excluded.last_at > test_totals.last_at "
        "THEN excluded.last_at ELSE test_totals.last_at END",
        rows,
    )
    groups = {("plan", t.night, str(t.plan_id or 0)) for t in (*old, *new) if t.plan_id}
    groups |= {("machine", t.night, t.machine) for t in (*old, *new) if t.machine}
    _count_groups(db, groups)


def _count_groups(db: Backend, groups: Iterable[tuple[str, str, Any]]) -> None:
    """Count again each night's plan or machine in ``groups``: its tests, and how many failed."""
    rows = []
    for kind, night, value in groups:
        column, stored = ("plan_id", int(value)) if kind == "plan" else ("machine", value)
        ((tests, failed),) = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN first = 'pass' THEN 0 ELSE 1 END), 0) "
            f"FROM tallies WHERE night = ? AND {column} = ?",
            (night, stored),
        )
        rows.append((kind, night, str(value), int(tests), int(failed)))
    db.executemany(
        "INSERT INTO night_groups (kind, night, value, tests, failed) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, night, value) DO UPDATE SET tests = excluded.tests, "
        "failed = excluded.failed",
        rows,
    )


def rebuild(db: Backend) -> None:
    """Fill ``test_totals`` and ``night_groups`` from every tally (after migration 2)."""
    db.execute("DELETE FROM test_totals")
    db.execute("DELETE FROM night_groups")
    update(db, (), [tally(row) for row in db.execute(f"SELECT {TALLY_COLUMNS} FROM tallies")])


# -- the failing tests' rollup --------------------------------------------------------------


def _outage_text(outages: OutageKeys) -> str:
    return json.dumps(sorted([kind, night, str(value)] for kind, night, value in outages))


def _kept_outages(db: Backend) -> OutageKeys | None:
    """The outages ``test_rollup`` was summed with (None: not summed yet)."""
    rows = db.execute("SELECT value FROM ledger_meta WHERE key = ?", (_ROLLUP_OUTAGES,))
    if not rows:
        return None
    return {_outage(kind, night, value) for kind, night, value in json.loads(rows[0][0])}


Changes = dict[str, tuple[list[NightTally], list[NightTally]]]
"""Per test key, the tallies a write replaced and those it wrote."""


def refresh(db: Backend, changes: Changes) -> None:
    """Bring ``test_rollup`` up to date after the tallies ``changes`` were written
    (:func:`update` first: the outages are read from ``night_groups``).

    A failing test whose new tallies all come after its newest are added to its sums;
    the others of ``changes`` that ever failed, and every failing test of a night's plan or
    machine whose outage came or went, are summed up again from all their tallies.
    """
    outages = _outages_kept(db, _KEPT)
    before = _kept_outages(db)
    again: set[str] = set()
    for kind, night, value in outages ^ (before or set()):
        column = "plan_id" if kind == "plan" else "machine"
        again.update(
            row[0]
            for row in db.execute(
                f"SELECT DISTINCT test_key FROM tallies WHERE night = ? AND {column} = ?",
                (night, value),
            )
        )
    kept = _rolled(db, sorted(set(changes) - again))
    added: list[_Rollup] = []
    for key, (old, new) in changes.items():
        if key in again:
            continue
        rolled = kept.get(key)
        if rolled is None and not any(t.failures for t in (*old, *new)):
            continue  # it never failed: test_totals has it
        if rolled is None or old or not rolled.add(mark(new, _KEPT, outages)):
            again.add(key)
        else:
            added.append(rolled)
    _write(db, [r.key for r in added], added)
    _sum_up(db, sorted(again), outages)
    db.execute(
        "INSERT INTO ledger_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_ROLLUP_OUTAGES, _outage_text(outages)),
    )


def rebuild_rollup(db: Backend) -> None:
    """Fill ``test_rollup`` from every tally of every test that failed (after migration 3)."""
    db.execute("DELETE FROM test_rollup")
    db.execute("DELETE FROM ledger_meta WHERE key = ?", (_ROLLUP_OUTAGES,))
    keys = [row[0] for row in db.execute("SELECT test_key FROM test_totals WHERE failures > 0")]
    _sum_up(db, keys, _outages_kept(db, _KEPT))
    db.execute(
        "INSERT INTO ledger_meta (key, value) VALUES (?, ?)",
        (_ROLLUP_OUTAGES, _outage_text(_outages_kept(db, _KEPT))),
    )


_ROLLUP_COLUMNS = (
    "test_key, test_case_id, test_case_name, plan_id, runs, failures, counted_rows, "
    "weighted_failures, weighted_passes, flips, final, streak, streak_nights, streak_night, "
    "last_failed, newest_first_at, newest_last_at, newest_plan, newest_machine"
)

_ROLLED_UP = ", ".join(f"rolled.{column}" for column in _ROLLUP_COLUMNS.split(", "))


@attrs.define(kw_only=True)
class _Rollup:
    """A failing test's row of ``test_rollup``: the sums of
    :func:`~rerunorch.ledger.model.test_sums` that do not depend on "now", its failures
    and passes weighted at the reference time, folded one tally at a time in time order."""

    key: str
    test_case_id: int | None = None
    test_case_name: str | None = None
    plan_id: int = 0
    runs: int = 0
    failures: int = 0
    counted_rows: int = 0
    weighted_failures: float = 0.0
    weighted_passes: float = 0.0
    flips: int = 0
    final: str | None = None  # the newest judged tally's last result
    streak: int = 0
    streak_nights: int = 0
    streak_night: str = ""  # the streak's newest night
    last_failed: float | None = None
    newest: tuple[float, float, int, str] = (float("-inf"), float("-inf"), 0, "")
    streak_set: set[str] | None = None  # the streak's nights, when folded from the start

    def row(self) -> tuple[Any, ...]:
        return (
            self.key,
            self.test_case_id,
            self.test_case_name,
            self.plan_id,
            self.runs,
            self.failures,
            self.counted_rows,
            self.weighted_failures,
            self.weighted_passes,
            self.flips,
            self.final,
            self.streak,
            self.streak_nights,
            self.streak_night,
            self.last_failed,
            *self.newest,
        )

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> _Rollup:
        return cls(
            key=row[0],
            test_case_id=row[1],
            test_case_name=row[2],
            plan_id=int(row[3]),
            runs=int(row[4]),
            failures=int(row[5]),
            counted_rows=int(row[6]),
            weighted_failures=float(row[7]),
            weighted_passes=float(row[8]),
            flips=int(row[9]),
            final=row[10],
            streak=int(row[11]),
            streak_nights=int(row[12]),
            streak_night=row[13],
            last_failed=float(row[14]) if row[14] is not None else None,
            newest=(float(row[15]), float(row[16]), int(row[17]), row[18]),
        )

    @classmethod
    def of_history(cls, history: Sequence[NightTally]) -> _Rollup:
        """A test's row from all its tallies, in time order, outages marked."""
        newest = history[-1]
        rolled = cls(key=stored_key(newest.test_case_id, newest.test_case_name), streak_set=set())
        for t in history:
            rolled._add(t)
        return rolled

    def add(self, tallies: Sequence[NightTally]) -> bool:
        """Fold in ``tallies`` (outages marked); False, and some folded, if one of them is
        not newer than every tally folded so far or its night is older than the streak's:
        then only the whole history gives the sums."""
        for t in sorted(tallies, key=in_time):
            if in_time(t) <= self.newest or not self._add(t):
                return False
        return True

    def _add(self, t: NightTally) -> bool:
        self.newest = in_time(t)
        self.test_case_id, self.plan_id = t.test_case_id, t.plan_id or 0
        self.test_case_name = t.test_case_name or self.test_case_name
        if t.outage:  # it counts in nights and last seen only (test_totals)
            return True
        weight = _weight_at_ref(t.last_at)
        self.counted_rows += 1
        self.runs += t.runs
        self.failures += t.failures
        self.weighted_failures += t.failures * weight
        self.weighted_passes += t.passes * weight
        if t.failures:
            known = self.last_failed
            self.last_failed = t.last_at if known is None else max(known, t.last_at)
        if not t.runs:  # only "not run": no result
            return True
        self.flips += t.flips
        if self.final is not None and self.final != t.first.value and t.first is not Seen.NOT_RUN:
            self.flips += 1
        if t.tail == t.runs and self.final == t.last.value:  # the streak goes on
            self.streak += t.tail
            if self.streak_set is not None:
                self.streak_set.add(t.night)
                self.streak_nights = len(self.streak_set)
            elif t.night > self.streak_night:
                self.streak_nights += 1
            elif t.night < self.streak_night:
                return False  # which nights the streak spans is not kept
        else:
            self.streak, self.streak_nights, self.streak_set = t.tail, 1, {t.night}
        self.streak_night = max(self.streak_night, t.night)
        self.final = t.last.value
        return True


def _rolled(db: Backend, keys: Sequence[str]) -> dict[str, _Rollup]:
    found = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT {_ROLLUP_COLUMNS} FROM test_rollup WHERE test_key IN ({marks})", chunk
        ):
            found[row[0]] = _Rollup.of_row(row)
    return found


def _write(db: Backend, keys: Sequence[str], rolled: Sequence[_Rollup]) -> None:
    """Replace the rows of ``keys`` by ``rolled``."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        db.execute(
            f"DELETE FROM test_rollup WHERE test_key IN ({', '.join('?' * len(chunk))})", chunk
        )
    db.executemany(
        f"INSERT INTO test_rollup ({_ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 19)})",
        [r.row() for r in rolled],
    )


def _sum_up(db: Backend, keys: Sequence[str], outages: OutageKeys) -> None:
    """Sum up from all their tallies those of the tests ``keys`` that ever failed."""
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT {TALLY_COLUMNS} FROM tallies WHERE test_key IN (SELECT test_key FROM "
            f"test_totals WHERE failures > 0 AND test_key IN ({marks}))",
            chunk,
        )
        histories = by_test(mark([tally(row) for row in rows], _KEPT, outages))
        _write(db, chunk, [_Rollup.of_history(history) for history in histories])


def _failing_rolled_up(
    db: Backend, outages: OutageKeys, recent: dict[str, list[int]], factor: float, model: FlakeModel
) -> list[TestSums] | None:
    """Each failing test's sums from ``test_rollup``; None when it was summed with other
    outages than ``outages`` (another model's), or misses a failing test."""
    if _kept_outages(db) != outages:
        return None
    rows = db.execute(
        f"SELECT {_ROLLED_UP}, totals.nights, totals.last_at FROM test_rollup AS rolled "
        "JOIN test_totals AS totals ON totals.test_key = rolled.test_key"
    )
    ((failing,),) = db.execute("SELECT COUNT(*) FROM test_totals WHERE failures > 0")
    if len(rows) != int(failing):
        return None
    found = []
    for row in rows:
        r = _Rollup.of_row(row)
        recent_runs, recent_failures, recent_rows = recent.get(r.key, (0, 0, 0))
        found.append(
            TestSums(
                test_case_id=r.test_case_id,
                test_case_name=r.test_case_name,
                plan_id=r.plan_id or None,
                runs=r.runs,
                failures=r.failures,
                alpha=model.alpha + r.weighted_failures * factor,
                beta=model.beta + r.weighted_passes * factor,
                flips=r.flips,
                final=_SEEN[r.final] if r.final is not None else None,
                streak=r.streak,
                streak_nights=r.streak_nights,
                nights=int(row[19]),
                last_seen=float(row[20]),
                last_failed=r.last_failed,
                recent=(recent_failures, recent_runs) if recent_rows else None,
                older=(r.failures - recent_failures, r.runs - recent_runs)
                if r.counted_rows > recent_rows
                else None,
            )
        )
    return found


def _recent(db: Backend, outages: OutageKeys, split: float) -> dict[str, list[int]]:
    """Each test's runs, failures and tallies since ``split`` (outages aside): the trend's
    recent side, a few nights found by the night index."""
    out, out_params = _out(outages)
    rows = db.execute(
        "SELECT test_key, SUM(runs), SUM(failures), COUNT(*) FROM (SELECT test_key, runs, "
        f"failures, {out} AS out FROM tallies WHERE night >= ? AND last_at >= ?) AS recent "
        "WHERE out = 0 GROUP BY test_key",
        [*out_params, _night_before(split), split],
    )
    return {key: [int(runs), int(failures), int(count)] for key, runs, failures, count in rows}


# -- reading --------------------------------------------------------------------------------


def summaries(
    db: Backend,
    *,
    now: float,
    model: FlakeModel,
    since: str | None = None,
    plans: Collection[int] | None = None,
) -> list[TestFlake]:
    """:func:`~rerunorch.ledger.model.summarize` of the tallies (``since``, ``plans``)."""
    whole = since is None and not plans and model.half_life_days * _DAY == DECAY_HALF_LIFE
    if whole and abs(now - DECAY_REF) < 900 * DECAY_HALF_LIFE:  # 2^900 stays a float
        outages = _outages_kept(db, model)
        factor = 2.0 ** (-(now - DECAY_REF) / DECAY_HALF_LIFE)
        recent = _recent(db, outages, now - model.trend_days * _DAY)
        passing = _passing_kept(db, outages, recent, factor, model)
        rolled = _failing_rolled_up(db, outages, recent, factor, model)
        if rolled is not None:
            return flakiest_first(flake_of(sums, now, model) for sums in (*rolled, *passing))
        clause, params = "1 = 1", list[Any]()
        failing, failing_params = "SELECT test_key FROM test_totals WHERE failures > 0", []
    else:
        clause, params = where(since, plans)
        if plans:  # a machine's outage among these plans' tests only
            outages = _outages_counted(db, clause, params, model)
        else:  # whole nights: their kept counts
            outages = {o for o in _outages_kept(db, model) if o[1] >= (since or "")}
        failing = (  # among those that ever failed: found by the test index
            f"SELECT test_key FROM tallies WHERE {clause} AND test_key IN (SELECT test_key "
            "FROM test_totals WHERE failures > 0) GROUP BY test_key HAVING SUM(failures) > 0"
        )
        failing_params = params
        passing = _passing_counted(db, clause, params, outages, now, model)
    # The tests that failed need their tallies in order (flips, the streak at the end).
    rows = db.execute(
        f"SELECT {TALLY_COLUMNS} FROM tallies WHERE {clause} AND test_key IN ({failing})",
        params + failing_params,
    )
    tallies = by_test(mark([tally(row) for row in rows], model, outages))
    failed = (test_sums(history, now, model) for history in tallies)
    return flakiest_first(flake_of(sums, now, model) for sums in (*failed, *passing))


def _out(outages: OutageKeys) -> tuple[str, list[Any]]:
    """SQL that is 1 for a tally of an outage, 0 otherwise; and its parameters."""
    if not outages:
        return "0", []
    ordered = sorted(outages, key=str)
    cases = " OR ".join(
        "(night = ? AND plan_id = ?)" if kind == "plan" else "(night = ? AND machine = ?)"
        for kind, _, _ in ordered
    )
    return f"CASE WHEN {cases} THEN 1 ELSE 0 END", [
        x for _, night, value in ordered for x in (night, value)
    ]


def _outage(kind: str, night: str, value: str) -> tuple[str, str, object]:
    return (kind, night, int(value) if kind == "plan" else value)


def _outages_kept(db: Backend, model: FlakeModel) -> OutageKeys:
    rows = db.execute("SELECT kind, night, value, tests, failed FROM night_groups")
    return {
        _outage(kind, night, value)
        for kind, night, value, tests, failed in rows
        if model.outage(int(tests), int(failed))
    }


def _outages_counted(db: Backend, clause: str, params: list[Any], model: FlakeModel) -> OutageKeys:
    keys: OutageKeys = set()
    for kind, column, unknown in (("plan", "plan_id", 0), ("machine", "machine", "")):
        for night, value, tests, failed in db.execute(
            f"SELECT night, {column}, COUNT(*), SUM(CASE WHEN first = 'pass' THEN 0 ELSE 1 END) "
            f"FROM tallies WHERE {clause} GROUP BY night, {column}",
            params,
        ):
            if value != unknown and model.outage(int(tests), int(failed)):
                keys.add((kind, night, value))
    return keys


def _passing_kept(
    db: Backend,
    outages: OutageKeys,
    recent: dict[str, list[int]],
    factor: float,
    model: FlakeModel,
) -> list[TestSums]:
    """Each never-failing test's sums from ``test_totals``, outage tallies taken out
    (``recent``: :func:`_recent`; ``factor``: the decay from the reference time to now)."""
    passing = "SELECT test_key FROM test_totals WHERE failures = 0"
    # The tallies to take out (each once, if both its plan and its machine had an outage).
    out: dict[tuple[Any, ...], tuple[str, int, float]] = {}
    for kind, night, value in outages:
        column = "plan_id" if kind == "plan" else "machine"
        for key, plan, machine, runs, last_at in db.execute(
            f"SELECT test_key, plan_id, machine, runs, last_at FROM tallies "
            f"WHERE night = ? AND {column} = ? AND test_key IN ({passing})",
            (night, value),
        ):
            out[(key, plan, machine, night)] = (key, int(runs), float(last_at))
    taken: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for key, runs, last_at in out.values():
        taken[key][0] += runs
        taken[key][1] += 1
        taken[key][2] += runs * _weight_at_ref(last_at)
    found = []
    for key, test_id, name, plan_id, runs, rows, nights, weighted, last_at in db.execute(
        "SELECT test_key, test_case_id, test_case_name, plan_id, runs, tally_rows, nights, "
        "weighted_passes, last_at FROM test_totals WHERE failures = 0"
    ):
        runs_out, rows_out, weighted_out = taken.get(key, (0, 0, 0.0))
        counted_runs, counted_rows = int(runs) - int(runs_out), int(rows) - int(rows_out)
        recent_runs, _, recent_rows = recent.get(key, (0, 0, 0))
        found.append(
            TestSums(
                test_case_id=test_id,
                test_case_name=name,
                plan_id=plan_id or None,
                runs=counted_runs,
                failures=0,
                alpha=model.alpha,
                beta=model.beta + max(float(weighted) - weighted_out, 0.0) * factor,
                final=Seen.PASS if counted_runs else None,
                streak=counted_runs,
                recent=(0, recent_runs) if recent_rows else None,
                older=(0, counted_runs - recent_runs) if counted_rows > recent_rows else None,
                nights=int(nights),
                last_seen=float(last_at),
            )
        )
    return found


def _night_before(at: float) -> str:
    from rerunorch.ledger.observe import night_of

    return night_of(at - _DAY)


def _passing_counted(
    db: Backend,
    clause: str,
    params: list[Any],
    outages: OutageKeys,
    now: float,
    model: FlakeModel,
) -> list[TestSums]:
    """Each never-failing test's sums from one grouped query (outage rows count in no run)."""
    out, out_params = _out(outages)
    greatest = "MAX" if db.dialect == "sqlite" else "GREATEST"
    split = now - model.trend_days * _DAY
    rows = db.execute(
        f"""SELECT test_key, MAX(test_case_id), MAX(test_case_name), MAX(plan_id),
            COUNT(DISTINCT night), MAX(last_at), SUM(runs), SUM(weighted),
            SUM(CASE WHEN last_at >= ? THEN runs ELSE 0 END),
            SUM(CASE WHEN last_at >= ? THEN 1 - out ELSE 0 END),
            SUM(CASE WHEN last_at < ? THEN runs ELSE 0 END),
            SUM(CASE WHEN last_at < ? THEN 1 - out ELSE 0 END)
        FROM (
            SELECT test_key, test_case_id, test_case_name, plan_id, night, last_at,
                failures, runs * (1 - out) AS runs,
                runs * (1 - out) * POWER(0.5, {greatest}(? - last_at, 0) / ?) AS weighted,
                out
            FROM (SELECT *, {out} AS out FROM tallies WHERE {clause}) AS marked
        ) AS counted
        GROUP BY test_key HAVING SUM(failures) = 0""",
        [split, split, split, split, now, model.half_life_days * _DAY, *out_params, *params],
    )
    return [
        TestSums(
            test_case_id=row[1],
            test_case_name=row[2],
            plan_id=row[3] or None,
            nights=int(row[4]),
            last_seen=float(row[5]),
            runs=int(row[6]),
            failures=0,
            alpha=model.alpha,
            beta=model.beta + float(row[7]),
            final=Seen.PASS if row[6] else None,
            streak=int(row[6]),
            recent=(0, int(row[8])) if row[9] else None,
            older=(0, int(row[10])) if row[11] else None,
        )
        for row in rows
    ]
