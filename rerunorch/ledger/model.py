"""The flake model: each test's history summed up (docs/verdicts.md, "The ledger").

Pure functions, no I/O. Observations are first folded into one
:class:`~rerunorch.ledger.tallies.NightTally` per test, plan, machine and night (what the
store keeps, so that a million observations are read as a few thousand rows); everything
else reads tallies:

- :func:`mark_outages`: a night in which one plan or machine failed more than
  ``outage_share`` of its tests is an outage: its failures are no flake evidence.
- :func:`summarize`: per test, a Beta-Binomial failure-rate posterior whose
  evidence decays with a half-life, its 90% interval, the flip rate, ``P(broken)``,
  a status (``flaky``, ``broken``, ``fixed``, ``new``; ``passing`` if it never
  failed) and a trend.
- :func:`nights` and :func:`plan_rates`: the night-by-night chart and the
  pass-on-rerun rate per plan.

A test's history as the verdicts' prior is :mod:`rerunorch.ledger.prior`.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence

import attrs

from rerunorch.ledger.beta import beta_interval
from rerunorch.ledger.records import FlakeStatus, NightPoint, Observation, PlanRate, TestFlake
from rerunorch.ledger.tallies import NightTally, by_test, tallies_of, tally
from rerunorch.verdicts import BetaPrior, Seen

__all__ = [
    "FlakeModel",
    "OutageKeys",
    "TestSums",
    "fixed_bound",
    "flake_of",
    "flakiest_first",
    "interval_of",
    "mark",
    "mark_outages",
    "nights",
    "outage_keys",
    "plan_rates",
    "summarize",
    "test_sums",
]

_DAY = 86400.0


@attrs.frozen(kw_only=True)
class FlakeModel:
    """The flake model's settings (docs/verdicts.md).

    Attributes:
        half_life_days: Evidence this old counts half.
        alpha, beta: The Beta prior over a test's failure rate, before any evidence.
        interval: The credible interval's mass (0.9: from the 5% to the 95% quantile, or
            one-sided at 0 or 1: :func:`interval_of`).
        fixed_after: Clean runs in a row, after failures, that make a test ``fixed``.
        new_runs: Fewer runs than this, and not proven flaky or broken: ``new``.
        threshold: ``P(broken)`` from which a test is ``broken``.
        broken_nights: A broken test is not rerun again once its failures in a row
            span this many nights (unless ``--rerun-broken``).
        quarantine_rate: A ``flaky`` test whose rate is at least this is quarantined.
        quarantine_days: ... until it has not failed for this many days (the expiry).
        outage_share: A plan or machine that failed more than this share of its tests
            in one night had an outage.
        outage_min_tests: ... if it ran at least this many tests that night.
        trend_days: The trend compares the last this-many days with the time before.
        break_hazard: The chance that a test seen passing has become broken since
            (the floor of its prior ``P(broken)`` when it fails again).
        population: The verdicts' population prior, for ``P(broken)`` of a failure streak.
    """

    half_life_days: float = 14.0
    alpha: float = 0.5
    beta: float = 4.0
    interval: float = 0.9
    fixed_after: int = 20
    new_runs: int = 3
    threshold: float = 0.95
    broken_nights: int = 3
    quarantine_rate: float = 0.2
    quarantine_days: float = 7.0
    outage_share: float = 0.8
    outage_min_tests: int = 5
    trend_days: float = 7.0
    break_hazard: float = 0.02
    population: BetaPrior = attrs.field(factory=BetaPrior)

    def __attrs_post_init__(self) -> None:
        if not (self.half_life_days > 0 and self.alpha > 0 and self.beta > 0):
            raise ValueError("half_life_days, alpha and beta must be positive")
        for name in ("interval", "threshold", "outage_share", "break_hazard"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1, not {getattr(self, name)!r}")
        if self.fixed_after < 1 or self.broken_nights < 1:
            raise ValueError("fixed_after and broken_nights must be at least 1")

    def outage(self, tests: int, failed: int) -> bool:
        """Whether a plan's or machine's night with ``failed`` of ``tests`` not passing
        first is an outage."""
        return tests >= self.outage_min_tests and failed > self.outage_share * tests

    def weight(self, age_seconds: float) -> float:
        """How much evidence of this age counts: ``0.5 ** (age / half-life)``."""
        return float(0.5 ** (max(age_seconds, 0.0) / (self.half_life_days * _DAY)))


# -- outages --------------------------------------------------------------------------------


def outage_keys(tallies: Iterable[NightTally], model: FlakeModel) -> set[tuple[str, str, object]]:
    """``("plan", night, plan_id)`` and ``("machine", night, title)`` of each outage."""
    counts: dict[tuple[str, str, object], list[int]] = defaultdict(lambda: [0, 0])
    for t in tallies:
        for key in (("plan", t.night, t.plan_id), ("machine", t.night, t.machine)):
            if key[2] is None:
                continue
            counts[key][0] += 1
            counts[key][1] += t.first is not Seen.PASS
    return {key for key, (tests, failed) in counts.items() if model.outage(tests, failed)}


OutageKeys = set[tuple[str, str, object]]


def mark(
    tallies: list[NightTally], model: FlakeModel, keys: OutageKeys | None = None
) -> list[NightTally]:
    """The tallies, those of an outage (``keys``, else found in them) marked ``outage``."""
    keys = outage_keys(tallies, model) if keys is None else keys
    return [
        attrs.evolve(t, outage=True)
        if ("plan", t.night, t.plan_id) in keys or ("machine", t.night, t.machine) in keys
        else t
        for t in tallies
    ]


def mark_outages(observations: Sequence[Observation], model: FlakeModel) -> list[Observation]:
    """The observations, those of an outage night's plan or machine marked ``outage``."""
    keys = outage_keys(tally(observations), model)
    return [
        attrs.evolve(o, outage=True)
        if ("plan", o.night, o.plan_id) in keys or ("machine", o.night, o.machine) in keys
        else o
        for o in observations
    ]


# -- one test -------------------------------------------------------------------------------


def fixed_bound(clean: int, confidence: float = 0.95) -> str:
    """``"20 of 20 passed: failure rate below 13.9% at 95%"``: ``1 - (1 - c) ** (1 / n)``."""
    bound = 1.0 - (1.0 - confidence) ** (1.0 / clean)
    return f"{clean} of {clean} passed: failure rate below {bound:.1%} at {confidence:.0%}"


@attrs.frozen(kw_only=True)
class TestSums:
    """What the model needs of one test's history (from its tallies, or summed in SQL).

    Outage tallies count in ``nights`` and ``last_seen`` only; ``judged`` ones are the
    others with a result.

    Attributes:
        alpha, beta: The failure-rate posterior: the prior plus the decayed failures and passes.
        flips: Consecutive judged results that differ.
        final: The newest judged result; ``streak`` of them in a row at the end, over
            ``streak_nights`` nights.
        recent, older: ``(failures, runs)`` since ``now - trend_days`` and before, or None
            without such tallies.
        last_failed: When it last failed (outages aside).
    """

    __test__ = False

    test_case_id: int | None
    test_case_name: str | None = None
    plan_id: int | None = None
    runs: int
    failures: int
    alpha: float
    beta: float
    flips: int = 0
    final: Seen | None = None
    streak: int = 0
    streak_nights: int = 0
    nights: int
    last_seen: float
    last_failed: float | None = None
    recent: tuple[int, int] | None = None
    older: tuple[int, int] | None = None


def _streak(judged: Sequence[NightTally]) -> tuple[Seen | None, int, int]:
    """The results in a row at the end: (which, how many, over how many nights)."""
    if not judged:
        return None, 0, 0
    which = judged[-1].last
    count, nights_spanned = 0, set()
    for t in reversed(judged):
        if t.last is not which:
            break
        count += t.tail
        nights_spanned.add(t.night)
        if t.tail < t.runs:
            break
    return which, count, len(nights_spanned)


def _flipped(x: NightTally, y: NightTally) -> bool:
    """``y``'s first result differs from ``x``'s last (a first "not run" is no result)."""
    return x.last is not y.first and y.first is not Seen.NOT_RUN


def _counts(history: Iterable[NightTally]) -> tuple[int, int] | None:
    found = None
    for t in history:
        failures, runs = found or (0, 0)
        found = (failures + t.failures, runs + t.runs)
    return found


def _newest_name(history: Sequence[NightTally]) -> str | None:
    return next((t.test_case_name for t in reversed(history) if t.test_case_name), None)


def test_sums(history: Sequence[NightTally], now: float, model: FlakeModel) -> TestSums:
    """One test's sums; ``history`` is its tallies in time order, outages marked."""
    counted = [t for t in history if not t.outage]
    judged = [t for t in counted if t.runs]
    a, b = model.alpha, model.beta
    for t in counted:
        w = model.weight(now - t.last_at)
        a += w * t.failures
        b += w * t.passes
    final, streak, streak_nights = _streak(judged)
    split = now - model.trend_days * _DAY
    newest = history[-1]
    return TestSums(
        test_case_id=newest.test_case_id,
        test_case_name=next(
            (t.test_case_name for t in reversed(history) if t.test_case_name), None
        ),
        plan_id=newest.plan_id,
        runs=sum(t.runs for t in counted),
        failures=sum(t.failures for t in counted),
        alpha=a,
        beta=b,
        flips=sum(t.flips for t in judged)
        + sum(_flipped(x, y) for x, y in itertools.pairwise(judged)),
        final=final,
        streak=streak,
        streak_nights=streak_nights,
        nights=len({t.night for t in history}),
        last_seen=max(t.last_at for t in history),
        last_failed=max((t.last_at for t in counted if t.failures), default=None),
        recent=_counts(t for t in counted if t.last_at >= split),
        older=_counts(t for t in counted if t.last_at < split),
    )


@functools.lru_cache(maxsize=65536)
def _interval(a: float, b: float, mass: float, boundary: float | None) -> tuple[float, float]:
    """The credible interval, for ``a`` and ``b`` rounded: tests seen on the same nights
    share their posterior, so most are computed once."""
    return beta_interval(a, b, mass, boundary=boundary)


def interval_of(s: TestSums, model: FlakeModel) -> tuple[float, float]:
    """A test's ``model.interval`` credible interval (docs/verdicts.md): one-sided at the
    boundary its data cannot leave (``[0, q(0.9)]`` with no failure counted, ``[q(0.1), 1]``
    with no pass), equal-tailed (5% to 95%) otherwise."""
    boundary = 0.0 if s.failures == 0 else 1.0 if s.failures == s.runs else None
    return _interval(round(s.alpha, 4), round(s.beta, 4), model.interval, boundary)


def _status(s: TestSums, p_broken: float, model: FlakeModel) -> FlakeStatus:
    """flaky, broken, fixed, new or passing, with the recovery rules (docs/verdicts.md)."""
    if s.failures == 0:
        return FlakeStatus.PASSING
    if s.final is Seen.PASS and s.streak >= model.fixed_after:
        return FlakeStatus.FIXED
    if s.final is Seen.FAIL and p_broken >= model.threshold:
        return FlakeStatus.BROKEN
    if s.failures < s.runs and s.runs >= model.new_runs:
        return FlakeStatus.FLAKY
    return FlakeStatus.NEW


def flake_of(s: TestSums, now: float, model: FlakeModel) -> TestFlake:
    """A test's row of ``rerunorch flaky`` from its sums: the one place of the rules."""
    failing = s.final is Seen.FAIL and s.streak > 0
    p_broken = model.population.p_broken(s.streak - 1) if failing else 0.0
    status = _status(s, p_broken, model)
    trend = 0.0
    if s.recent is not None and s.older is not None:

        def mean(counts: tuple[int, int]) -> float:
            return (model.alpha + counts[0]) / (model.alpha + model.beta + counts[1])

        trend = mean(s.recent) - mean(s.older)
    rate = s.alpha / (s.alpha + s.beta)
    quarantined = (
        status is FlakeStatus.FLAKY
        and rate >= model.quarantine_rate
        and s.last_failed is not None
        and now - s.last_failed <= model.quarantine_days * _DAY
    )
    return TestFlake(
        test_case_id=s.test_case_id,
        test_case_name=s.test_case_name,
        plan_id=s.plan_id,
        status=status,
        runs=s.runs,
        failures=s.failures,
        rate=rate,
        interval=interval_of(s, model),
        nights=s.nights,
        last_seen=s.last_seen,
        flip_rate=s.flips / (s.runs - 1) if s.runs > 1 else 0.0,
        p_broken=p_broken,
        trend=trend,
        quarantined=quarantined,
        fixed_bound=fixed_bound(s.streak) if status is FlakeStatus.FIXED else None,
        streak_nights=s.streak_nights if s.final is Seen.FAIL else 0,
        alpha=s.alpha,
        beta=s.beta,
    )


def summarize(
    observations: Iterable[Observation | NightTally],
    *,
    now: float,
    model: FlakeModel | None = None,
    outages: OutageKeys | None = None,
) -> list[TestFlake]:
    """Each test's history summed up, the flakiest first (``rate``, then failures).

    ``observations`` may be raw observations or the store's tallies; outages are
    marked here (their failures count in no rate, streak or status), from these
    tallies or, when they are only some tests', the ``outages`` given (:func:`outage_keys`).
    """
    model = model or FlakeModel()
    tallies = mark(tallies_of(observations), model, outages)
    return flakiest_first(
        flake_of(test_sums(history, now, model), now, model) for history in by_test(tallies)
    )


def flakiest_first(flakes: Iterable[TestFlake]) -> list[TestFlake]:
    """The order of :func:`summarize`: highest rate, then most failures, then by name."""
    return sorted(flakes, key=lambda f: (-f.rate, -f.failures, str(f.test_case_name)))


# -- nights and plans -----------------------------------------------------------------------


def nights(
    observations: Iterable[Observation | NightTally],
    *,
    model: FlakeModel | None = None,
    by_plan: bool = False,
) -> list[NightPoint]:
    """One point per night (and per plan with ``by_plan``), oldest first.

    ``flake_rate``: the share of the night's tests that failed and passed (flaky);
    ``pass_on_rerun``: the share of those that did not pass first which passed later.
    """
    model = model or FlakeModel()
    tallies = mark(tallies_of(observations), model)
    groups: dict[tuple[str, int | None], list[NightTally]] = defaultdict(list)
    for t in tallies:
        groups[(t.night, t.plan_id if by_plan else None)].append(t)
    points = []
    for (night, plan), group in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        tests = {t.test for t in group}
        failed = {t.test for t in group if t.first is not Seen.PASS}
        flaky = {t.test for t in group if t.failures and t.passes}
        recovered = {t.test for t in group if t.rerun_passed}
        points.append(
            NightPoint(
                night=night,
                plan_id=plan,
                tests=len(tests),
                failures=len(failed),
                flaky=len(flaky),
                flake_rate=len(flaky) / len(tests) if tests else 0.0,
                pass_on_rerun=len(recovered) / len(failed) if failed else 0.0,
                outage=any(t.outage for t in group) and all(t.outage for t in group),
            )
        )
    return points


def plan_rates(
    observations: Iterable[Observation | NightTally], *, model: FlakeModel | None = None
) -> list[PlanRate]:
    """Per plan, the share of its failed tests (outages left out) that passed on a rerun."""
    model = model or FlakeModel()
    counts: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for t in mark(tallies_of(observations), model):
        if t.outage or t.first is Seen.PASS:
            continue
        counts[t.plan_id][0] += 1
        counts[t.plan_id][1] += t.rerun_passed
    return [
        PlanRate(plan_id=plan, failures=failed, passed_on_rerun=passed, rate=passed / failed)
        for plan, (failed, passed) in sorted(counts.items(), key=lambda kv: str(kv[0]))
    ]
