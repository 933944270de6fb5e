"""The ledger's records: what a sweep observed of each test, and what history makes of it.

These types are the contract between the ledger's rooms: the store (``store``)
writes and reads :class:`Observation` rows; the flake model (``model``) turns them
into :class:`TestFlake` and :class:`NightPoint`; the commands and the HTML page
(``page``) show those.
"""

from __future__ import annotations

import enum

import attrs

from rerunorch.verdicts import Seen

__all__ = ["FlakeStatus", "NightPoint", "Observation", "PlanRate", "TestFlake"]


@attrs.frozen(kw_only=True)
class Observation:
    """One test's (or one iteration's) result in one run of a chain.

    Attributes:
        test_case_id: The test case (stable across runs and nights).
        test_case_name: Its name, when the server gave one.
        suite: The test suite's name.
        plan_id: The test plan (``testPlanId`` / ``executionId``).
        machine: The machine or environment title.
        set_name: The iteration's data-set name; None for the test case itself.
        target: The chain's root: the original run the sweep was given or found.
        run_id: The run this result is from (the target itself, or a rerun of it).
        round: 0 for the original run, 1 for the first rerun, and so on.
        result: The server's result (``SUCCESS``, ``FAILURE``, ``ABORTED``, ...).
        seen: Its reading: a pass, a failure, or not run.
        at: When the run started (Unix seconds).
        duration: The run's duration in seconds, when known.
        build_no: The build number, when known.
        night: The night it belongs to (the sweep's id: ``YYYY-MM-DD`` of the
            original run's start, in UTC).
        verdict: The test's verdict from that sweep (``flaky``, ``broken``, ...),
            on the observations of the newest run of the chain; None elsewhere.
        outage: The night's plan or machine failed far more than usual: not flake evidence.
    """

    test_case_id: int | None
    test_case_name: str | None = None
    suite: str | None = None
    plan_id: int | None = None
    machine: str | None = None
    set_name: str | None = None
    target: int
    run_id: int
    round: int = 0
    result: str | None = None
    seen: Seen
    at: float
    duration: float | None = None
    build_no: str | None = None
    night: str
    verdict: str | None = None
    outage: bool = False


class FlakeStatus(str, enum.Enum):
    """A test's status from its history (``rerunorch flaky --json``'s ``status``)."""

    FLAKY = "flaky"  # fails now and then, and passes on rerun
    BROKEN = "broken"  # fails every time, for nights
    FIXED = "fixed"  # was flaky or broken, then N clean runs in a row
    NEW = "new"  # too little history to say
    PASSING = "passing"  # never failed in the period (left out of `rerunorch flaky`)


@attrs.frozen(kw_only=True)
class TestFlake:
    """One test's history, summed up (a row of ``rerunorch flaky``).

    Attributes:
        rate: The posterior mean failure rate (time-decayed Beta-Binomial).
        interval: Its 90% credible interval ``(lo, hi)``.
        flip_rate: Share of consecutive runs whose result differs.
        p_broken: P(broken) from its history.
        trend: The change in rate over the recent nights (positive: getting worse).
        fixed_bound: For ``fixed``: "20 of 20 passed: failure rate below 13.9% at 95%".
        streak_nights: For a test failing now: over how many nights its failures in a row go.
        alpha, beta: The failure-rate posterior Beta(alpha, beta) (``rate`` is its mean).
    """

    __test__ = False

    test_case_id: int | None
    test_case_name: str | None = None
    plan_id: int | None = None
    status: FlakeStatus
    runs: int
    failures: int
    rate: float
    interval: tuple[float, float]
    nights: int
    last_seen: float
    flip_rate: float = 0.0
    p_broken: float = 0.0
    trend: float = 0.0
    quarantined: bool = False
    fixed_bound: str | None = None
    streak_nights: int = 0
    alpha: float = 1.0
    beta: float = 1.0


@attrs.frozen(kw_only=True)
class NightPoint:
    """One night of one plan (None: all plans), for the trend chart.

    Attributes:
        flake_rate: Share of the night's tests that were flaky.
        pass_on_rerun: Share of the night's failed tests that passed on a rerun.
    """

    night: str
    plan_id: int | None
    tests: int
    failures: int
    flaky: int
    flake_rate: float
    pass_on_rerun: float
    outage: bool = False


@attrs.frozen(kw_only=True)
class PlanRate:
    """The pass-on-rerun rate of one plan over the period shown."""

    plan_id: int | None
    failures: int
    passed_on_rerun: int
    rate: float
