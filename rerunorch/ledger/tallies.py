"""One test's night, folded: the :class:`NightTally` (what the store keeps and the model reads)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import attrs

from rerunorch.ledger.records import Observation
from rerunorch.verdicts import Seen

__all__ = [
    "NightTally",
    "by_test",
    "in_time",
    "merge_tallies",
    "tallies_of",
    "tally",
    "test_key",
]


@attrs.frozen(kw_only=True)
class NightTally:
    """One test's results on one night, in one plan and on one machine, folded.

    Attributes:
        first: Its first result that night (round 0: the original run).
        last: Its last result that night.
        tail: How many of the night's last results in a row equal ``last``.
        flips: Consecutive results that differ, within the night.
        rerun_passed: It did not pass first and passed later that night.
        verdict: The sweep's verdict on it, if recorded.
        outage: Its plan or machine had an outage that night (set by :func:`mark_outages`).
    """

    test_case_id: int | None
    test_case_name: str | None = None
    plan_id: int | None = None
    machine: str | None = None
    night: str
    runs: int = 0
    failures: int = 0
    first: Seen
    last: Seen
    tail: int = 0
    flips: int = 0
    rerun_passed: bool = False
    first_at: float
    last_at: float
    verdict: str | None = None
    outage: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        """Where it belongs: one tally per key."""
        return (self.test_case_id, self.test_case_name, self.plan_id, self.machine, self.night)

    @property
    def test(self) -> object:
        """The test it is of (its id, else its name)."""
        return test_key(self.test_case_id, self.test_case_name)

    @property
    def passes(self) -> int:
        return self.runs - self.failures


def test_key(test_case_id: int | None, name: str | None) -> object:
    """A test's identity: its id, or its name when the server gave no id."""
    return test_case_id if test_case_id is not None else ("name", name)


def _one(obs: Observation) -> NightTally:
    judged = obs.seen is not Seen.NOT_RUN
    return NightTally(
        test_case_id=obs.test_case_id,
        test_case_name=obs.test_case_name,
        plan_id=obs.plan_id,
        machine=obs.machine,
        night=obs.night,
        runs=int(judged),
        failures=int(obs.seen is Seen.FAIL),
        first=obs.seen,
        last=obs.seen,
        tail=int(judged),
        first_at=obs.at,
        last_at=obs.at,
        verdict=obs.verdict,
        outage=obs.outage,
    )


def merge_tallies(a: NightTally, b: NightTally) -> NightTally:
    """Two tallies of one key as one (``b`` after ``a`` in time: they are put in order)."""
    if (b.first_at, b.last_at) < (a.first_at, a.last_at):
        a, b = b, a
    if b.runs == 0:  # only "not run": it changes no result
        return attrs.evolve(a, last_at=max(a.last_at, b.last_at), verdict=b.verdict or a.verdict)
    if a.runs == 0:
        return attrs.evolve(b, first=a.first, first_at=a.first_at, verdict=b.verdict or a.verdict)
    same = a.last is b.first
    return attrs.evolve(
        a,
        test_case_name=b.test_case_name or a.test_case_name,
        runs=a.runs + b.runs,
        failures=a.failures + b.failures,
        last=b.last,
        tail=b.tail + (a.tail if same and b.tail == b.runs else 0),
        flips=a.flips + b.flips + (0 if same else 1),
        rerun_passed=a.rerun_passed
        or b.rerun_passed
        or (a.first is not Seen.PASS and b.runs > b.failures),
        last_at=max(a.last_at, b.last_at),
        verdict=b.verdict or a.verdict,
        outage=a.outage or b.outage,
    )


def tally(observations: Iterable[Observation]) -> list[NightTally]:
    """The observations folded by test, plan, machine and night (iteration rows left out:
    a data-driven test is judged as the test case)."""
    found: dict[tuple[object, ...], NightTally] = {}
    ordered = sorted(
        (o for o in observations if o.set_name is None),
        key=lambda o: (o.at, o.round, o.run_id),
    )
    for obs in ordered:
        one = _one(obs)
        old = found.get(one.key)
        found[one.key] = one if old is None else merge_tallies(old, one)
    return list(found.values())


def tallies_of(items: Iterable[Observation | NightTally]) -> list[NightTally]:
    """Tallies as they are, and observations folded."""
    items = list(items)
    tallies = [t for t in items if isinstance(t, NightTally)]
    return tallies + tally(o for o in items if isinstance(o, Observation))


def by_test(tallies: Iterable[NightTally]) -> Iterator[list[NightTally]]:
    """Each test's tallies, in time order."""
    grouped: dict[object, list[NightTally]] = defaultdict(list)
    for t in tallies:
        grouped[t.test].append(t)
    for history in grouped.values():
        history.sort(key=in_time)
        yield history


def in_time(t: NightTally) -> tuple[float, float, int, str]:
    """A test's tallies in time order (ties by plan and machine: the store's order too)."""
    return (t.first_at, t.last_at, t.plan_id or 0, t.machine or "")
