"""The flake model (rerunorch.ledger.model) and its Beta quantile, on known values."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerunorch.ledger.beta import beta_cdf, beta_interval, beta_quantile
from rerunorch.ledger.model import (
    FlakeModel,
    fixed_bound,
    mark_outages,
    nights,
    plan_rates,
    summarize,
)
from rerunorch.ledger.prior import HistoryPrior, history_prior
from rerunorch.ledger.records import FlakeStatus, Observation
from rerunorch.ledger.tallies import merge_tallies, tally
from rerunorch.verdicts import BetaPrior, Seen, rounds_to_decide

DAY = 86400.0
NOW = 40 * DAY


# -- the Beta distribution ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "a", "b", "expected"),
    [
        (0.5, 2.0, 3.0, 0.6875),  # P(Binomial(4, 1/2) >= 2) = 11/16
        (0.3, 1.0, 1.0, 0.3),  # uniform
        (0.2, 1.0, 5.0, 1 - 0.8**5),
        (0.2, 5.0, 1.0, 0.2**5),
        (0.25, 0.5, 0.5, 2 / math.pi * math.asin(math.sqrt(0.25))),  # arcsine law
        (0.9, 0.5, 0.5, 2 / math.pi * math.asin(math.sqrt(0.9))),
    ],
)
def test_beta_cdf_known_values(x: float, a: float, b: float, expected: float) -> None:
    assert beta_cdf(x, a, b) == pytest.approx(expected, abs=1e-12)


def test_beta_quantile_known_values() -> None:
    # Beta(1, n): quantile q is 1 - (1 - q)^(1/n), the "n of n passed" bound.
    assert beta_quantile(0.95, 1.0, 20.0) == pytest.approx(1 - 0.05 ** (1 / 20), abs=1e-9)
    # Arcsine: the quantile is sin^2(pi q / 2).
    assert beta_quantile(0.05, 0.5, 0.5) == pytest.approx(math.sin(math.pi * 0.025) ** 2, abs=1e-9)
    # Beta(2, 2)'s median is 1/2 by symmetry.
    assert beta_quantile(0.5, 2.0, 2.0) == pytest.approx(0.5, abs=1e-9)
    # Integer a, b: I_x(a, b) = P(Binomial(a + b - 1, x) >= a); qbeta(0.05, 2, 8) = 0.0410232.
    x = beta_quantile(0.05, 2.0, 8.0)
    assert 1 - (1 - x) ** 9 - 9 * x * (1 - x) ** 8 == pytest.approx(0.05, abs=1e-10)
    assert x == pytest.approx(0.0410232, abs=1e-7)
    low, high = beta_interval(3.0, 3.0)
    assert low == pytest.approx(1 - high, abs=1e-9)
    # One-sided at a boundary: still 90% of the mass, the boundary point included.
    assert beta_interval(1.0, 20.0, 0.9, boundary=0.0) == (
        0.0,
        pytest.approx(1 - 0.1 ** (1 / 20), abs=1e-9),
    )
    assert beta_interval(20.0, 1.0, 0.9, boundary=1.0) == (
        pytest.approx(0.1 ** (1 / 20), abs=1e-9),
        1.0,
    )
    with pytest.raises(ValueError, match="boundary is 0 or 1"):
        beta_interval(1.0, 1.0, boundary=0.5)


@settings(max_examples=200, deadline=None)
@given(
    q=st.floats(0.001, 0.999),
    a=st.floats(0.05, 500.0),
    b=st.floats(0.05, 500.0),
)
def test_quantile_inverts_the_cdf(q: float, a: float, b: float) -> None:
    x = beta_quantile(q, a, b)
    assert 0.0 <= x <= 1.0
    if abs(beta_cdf(x, a, b) - q) > 1e-6:
        # A quantile within a few floats of 0 or 1: the floats around it bracket q.
        below, above = math.nextafter(x, 0.0), math.nextafter(x, 1.0)
        assert beta_cdf(below, a, b) <= q + 1e-9 <= beta_cdf(above, a, b) + 2e-9


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        beta_cdf(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="within"):
        beta_quantile(1.5, 1.0, 1.0)


# -- observations ---------------------------------------------------------------------------


def obs(
    test: int,
    seen: Seen,
    night: int,
    *,
    round: int = 0,
    plan: int = 1,
    machine: str = "Chrome",
    run: int | None = None,
) -> Observation:
    at = night * DAY + round * 600.0
    return Observation(
        test_case_id=test,
        test_case_name=f"test {test}",
        plan_id=plan,
        machine=machine,
        target=night * 1000 + plan,
        run_id=run if run is not None else night * 1000 + plan * 10 + round,
        round=round,
        result={Seen.PASS: "SUCCESS", Seen.FAIL: "FAILURE", Seen.NOT_RUN: "ABORTED"}[seen],
        seen=seen,
        at=at,
        night=f"n{night:03d}",
    )


def night_of(test: int, night: int, results: str, **kw: object) -> list[Observation]:
    """``"FFP"``: failed, failed again, then passed, in rounds 0, 1, 2."""
    code = {"F": Seen.FAIL, "P": Seen.PASS, "N": Seen.NOT_RUN}
    return [obs(test, code[c], night, round=i, **kw) for i, c in enumerate(results)]  # type: ignore[arg-type]


def one(observations: list[Observation], model: FlakeModel | None = None) -> object:
    found = summarize(observations, now=NOW, model=model)
    assert len(found) == 1
    return found[0]


def test_a_flaky_test_has_its_rate_interval_and_flip_rate() -> None:
    history = [o for n in range(30) for o in night_of(7, n, "FP" if n % 3 == 0 else "P")]
    flake = summarize(history, now=NOW)[0]
    assert flake.status is FlakeStatus.FLAKY
    assert (flake.runs, flake.failures, flake.nights) == (40, 10, 30)
    low, high = flake.interval
    assert low < flake.rate < high
    assert 0.1 < flake.rate < 0.4  # 10 failures in 40 runs, decayed
    # F P P P F P ...: each failed night has two flips (into F and out of it), but the first.
    assert flake.flip_rate == pytest.approx(19 / 39)
    assert flake.last_seen == 29 * DAY  # night 29 ran it once, and it passed


def test_the_interval_is_one_sided_at_a_boundary_the_data_cannot_leave() -> None:
    never_failed = one([o for n in range(10) for o in night_of(4, n, "P")])
    # (a and b are rounded to 4 places for the quantiles, which are cached)
    low, high = never_failed.interval
    assert low == 0.0
    assert high == pytest.approx(
        beta_quantile(0.9, never_failed.alpha, never_failed.beta), abs=1e-5
    )
    never_passed = one([o for n in range(3) for o in night_of(5, n, "FFFFFFFF")])
    low, high = never_passed.interval
    assert high == 1.0
    assert low == pytest.approx(beta_quantile(0.1, never_passed.alpha, never_passed.beta), abs=1e-5)
    assert 0.0 < low < never_passed.rate
    both = one([o for n in range(30) for o in night_of(7, n, "FP" if n % 3 == 0 else "P")])
    low, high = both.interval
    assert low == pytest.approx(beta_quantile(0.05, both.alpha, both.beta), abs=1e-5)
    assert high == pytest.approx(beta_quantile(0.95, both.alpha, both.beta), abs=1e-5)
    # An outage's failures are no failure: a test otherwise passing keeps its interval at 0.
    model = FlakeModel(outage_min_tests=1)
    outage = [o for o in night_of(4, 10, "F")]
    assert (
        one(outage + [o for n in range(10) for o in night_of(4, n, "P")], model).interval[0] == 0.0
    )


def test_evidence_decays_with_the_half_life() -> None:
    old_failures = [o for n in range(10) for o in night_of(3, n, "F")]
    recent_passes = [o for n in range(30, 40) for o in night_of(3, n, "P")]
    flake = summarize(old_failures + recent_passes, now=NOW)[0]
    undecayed = (0.5 + 10) / (0.5 + 4 + 20)
    assert flake.rate < undecayed / 2  # 30+ days (two half-lives) old: counts a quarter
    model = FlakeModel(half_life_days=1e9)
    assert summarize(old_failures + recent_passes, now=NOW, model=model)[0].rate == (
        pytest.approx(undecayed)
    )


def test_a_test_failing_every_run_for_nights_is_broken() -> None:
    history = [o for n in range(3) for o in night_of(5, n, "FFFFFFFF")]
    flake = one(history)
    assert flake.status is FlakeStatus.BROKEN
    assert flake.p_broken > 0.99
    assert flake.streak_nights == 3
    assert not flake.quarantined  # never a broken test


def test_recovery_fixed_after_n_clean_runs_with_its_bound() -> None:
    broken = [o for n in range(2) for o in night_of(5, n, "FFFFFFFFF")]
    clean = [o for n in range(2, 22) for o in night_of(5, n, "P")]
    assert one(broken + clean[:19]).status is FlakeStatus.FLAKY  # 19 clean: not yet
    flake = one(broken + clean)
    assert flake.status is FlakeStatus.FIXED
    assert flake.fixed_bound == "20 of 20 passed: failure rate below 13.9% at 95%"
    assert fixed_bound(20) == flake.fixed_bound
    # A failure again ends the recovery: flaky.
    again = one(broken + clean + night_of(5, 23, "FP"))
    assert again.status is FlakeStatus.FLAKY


def test_new_and_passing() -> None:
    assert one(night_of(1, 1, "F")).status is FlakeStatus.NEW  # one failure, no rerun
    assert one(night_of(1, 1, "FP")).status is FlakeStatus.NEW  # too few runs to say
    assert one([o for n in range(5) for o in night_of(1, n, "P")]).status is FlakeStatus.PASSING


def test_trend_is_positive_for_a_test_getting_worse() -> None:
    good = [o for n in range(20) for o in night_of(2, n, "P")]
    bad = [o for n in range(34, 40) for o in night_of(2, n, "FP")]
    assert one(good + bad).trend > 0.2
    better = [o for n in range(20) for o in night_of(4, n, "FP")]
    clean = [o for n in range(34, 40) for o in night_of(4, n, "P")]
    assert one(better + clean).trend < -0.2


def test_quarantine_for_frequent_flakes_expires_when_it_stops_failing() -> None:
    flaky = [o for n in range(20, 30) for o in night_of(6, n, "FP")]
    model = FlakeModel(quarantine_rate=0.2, quarantine_days=7)
    assert summarize(flaky, now=30 * DAY, model=model)[0].quarantined
    # Ten days later it has not failed: the quarantine has expired.
    assert not summarize(flaky, now=40 * DAY, model=model)[0].quarantined
    rare = [o for n in range(20, 30) for o in night_of(6, n, "FP" if n == 25 else "P")]
    assert not summarize(rare, now=30 * DAY, model=model)[0].quarantined


def test_an_outage_night_is_marked_and_not_counted() -> None:
    normal = [o for t in range(10) for o in night_of(t, 1, "FP" if t == 0 else "P")]
    outage = [o for t in range(10) for o in night_of(t, 2, "FF" if t < 9 else "P")]
    marked = mark_outages(normal + outage, FlakeModel())
    assert {o.night for o in marked if o.outage} == {"n002"}
    assert not any(o.outage for o in marked if o.night == "n001")
    found = {f.test_case_id: f for f in summarize(normal + outage, now=NOW)}
    assert found[3].failures == 0  # its outage failures are no evidence
    assert found[3].status is FlakeStatus.PASSING
    points = nights(normal + outage)
    assert [p.outage for p in points] == [False, True]
    # 90% failing is below a share of 0.95: no outage then.
    assert not any(o.outage for o in mark_outages(outage, FlakeModel(outage_share=0.95)))


def test_an_outage_is_per_machine_too() -> None:
    chrome = [o for t in range(6) for o in night_of(t, 1, "P", machine="Chrome")]
    safari = [o for t in range(6, 12) for o in night_of(t, 1, "F", machine="Safari")]
    marked = mark_outages(chrome + safari, FlakeModel(outage_share=0.8))
    assert {o.machine for o in marked if o.outage} == {"Safari"}  # the plan: 50% only


def test_nights_and_plan_rates() -> None:
    history = (
        night_of(1, 1, "FP", plan=1)
        + night_of(2, 1, "FF", plan=1)
        + night_of(3, 1, "P", plan=2)
        + night_of(1, 2, "P", plan=1)
    )
    points = nights(history)
    assert [(p.night, p.tests, p.failures, p.flaky) for p in points] == [
        ("n001", 3, 2, 1),
        ("n002", 1, 0, 0),
    ]
    assert points[0].pass_on_rerun == 0.5
    assert points[0].flake_rate == pytest.approx(1 / 3)
    by_plan = nights(history, by_plan=True)
    assert {(p.night, p.plan_id) for p in by_plan} == {("n001", 1), ("n001", 2), ("n002", 1)}
    rates = plan_rates(history)
    assert [(r.plan_id, r.failures, r.passed_on_rerun, r.rate) for r in rates] == [(1, 2, 1, 0.5)]


def test_tallies_merge_in_time_order_whatever_order_they_come_in() -> None:
    history = night_of(9, 1, "FFPF")
    whole = tally(history)[0]
    parts = [tally([o])[0] for o in history]
    random.Random(3).shuffle(parts)
    merged = parts[0]
    for part in parts[1:]:
        merged = merge_tallies(merged, part)
    assert merged == whole
    assert (whole.runs, whole.failures, whole.flips, whole.tail, whole.rerun_passed) == (
        4,
        3,
        2,
        1,
        True,
    )
    # An iteration's row is left out: the test case is judged.
    iteration = Observation(**{**_fields(history[0]), "set_name": "set_1"})
    assert tally([iteration]) == []


def _fields(o: Observation) -> dict[str, object]:
    import attrs

    return attrs.asdict(o, recurse=False)


# -- history as the verdicts' prior ---------------------------------------------------------


def test_a_test_broken_for_nights_is_decided_without_a_rerun() -> None:
    population = BetaPrior()
    history = [o for n in range(3) for o in night_of(5, n, "FFFFFFFF")]
    prior = history_prior(history, population, now=NOW)
    assert isinstance(prior, HistoryPrior)
    assert rounds_to_decide(prior) == 0
    assert rounds_to_decide(population) == 8


def test_a_known_flake_that_breaks_is_decided_in_fewer_reruns() -> None:
    population = BetaPrior()
    history = [o for n in range(30) for o in night_of(7, n, "FP" if n % 5 == 0 else "P")]
    prior = history_prior(summarize(history, now=NOW)[0], population)
    assert prior.p_broken(0) < 0.05  # one failure of a known flake: not broken
    assert rounds_to_decide(prior) < rounds_to_decide(population)


def test_no_or_too_little_history_keeps_the_population_prior() -> None:
    population = BetaPrior()
    assert history_prior(None, population) is population
    assert history_prior(night_of(1, 1, "F"), population, now=NOW) is population
    with pytest.raises(ValueError, match="now"):
        history_prior(night_of(1, 1, "F"), population)


def test_the_model_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="outage_share"):
        FlakeModel(outage_share=1.5)
    with pytest.raises(ValueError, match="positive"):
        FlakeModel(half_life_days=0)
