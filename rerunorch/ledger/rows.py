"""The ledger's rows: observations and tallies as the tables hold them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from rerunorch.ledger.records import Observation
from rerunorch.ledger.tallies import NightTally
from rerunorch.verdicts import Seen

__all__ = [
    "OBSERVATION_COLUMNS",
    "TALLY_COLUMNS",
    "observation",
    "observation_row",
    "stored_key",
    "tally",
    "tally_row",
    "where",
]

_SEEN = {seen.value: seen for seen in Seen}


def stored_key(test_case_id: int | None, name: str | None) -> str:
    """The key a test is stored by: its id, or ``name:`` and its name."""
    return str(test_case_id) if test_case_id is not None else f"name:{name}"


OBSERVATION_COLUMNS = (
    "test_key, test_case_id, test_case_name, suite, plan_id, machine, set_name, target, "
    "run_id, round, result, seen, at, duration, build_no, night, verdict"
)
TALLY_COLUMNS = (
    "test_key, test_case_id, test_case_name, plan_id, machine, night, runs, failures, first, "
    "last, tail, flips, rerun_passed, first_at, last_at, verdict"
)


def observation_row(o: Observation) -> tuple[Any, ...]:
    return (
        stored_key(o.test_case_id, o.test_case_name),
        o.test_case_id,
        o.test_case_name,
        o.suite,
        o.plan_id or 0,
        o.machine or "",
        o.set_name or "",
        o.target,
        o.run_id,
        o.round,
        o.result,
        o.seen.value,
        o.at,
        o.duration,
        o.build_no,
        o.night,
        o.verdict,
    )


def observation(row: Sequence[Any]) -> Observation:
    return Observation(
        test_case_id=row[1],
        test_case_name=row[2],
        suite=row[3],
        plan_id=row[4] or None,
        machine=row[5] or None,
        set_name=row[6] or None,
        target=row[7],
        run_id=row[8],
        round=row[9],
        result=row[10],
        seen=Seen(row[11]),
        at=float(row[12]),
        duration=row[13],
        build_no=row[14],
        night=row[15],
        verdict=row[16],
    )


def tally_row(t: NightTally) -> tuple[Any, ...]:
    return (
        stored_key(t.test_case_id, t.test_case_name),
        t.test_case_id,
        t.test_case_name,
        t.plan_id or 0,
        t.machine or "",
        t.night,
        t.runs,
        t.failures,
        t.first.value,
        t.last.value,
        t.tail,
        t.flips,
        int(t.rerun_passed),
        t.first_at,
        t.last_at,
        t.verdict,
    )


def tally(row: Sequence[Any]) -> NightTally:
    return NightTally(
        test_case_id=row[1],
        test_case_name=row[2],
        plan_id=row[3] or None,
        machine=row[4] or None,
        night=row[5],
        runs=row[6],
        failures=row[7],
        first=_SEEN[row[8]],
        last=_SEEN[row[9]],
        tail=row[10],
        flips=row[11],
        rerun_passed=bool(row[12]),
        first_at=float(row[13]),
        last_at=float(row[14]),
        verdict=row[15],
    )


def where(since: str | None, plans: Collection[int] | None) -> tuple[str, list[Any]]:
    sql = "night >= ?"
    params: list[Any] = [since or ""]
    if plans:
        sql += f" AND plan_id IN ({', '.join('?' * len(plans))})"
        params += sorted(plans)
    return sql, params
