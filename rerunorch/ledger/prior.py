"""A test's history as the verdicts' prior (docs/verdicts.md, "History feeds the sweep")."""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

from rerunorch.ledger.model import FlakeModel, summarize
from rerunorch.ledger.records import Observation, TestFlake
from rerunorch.ledger.tallies import NightTally
from rerunorch.verdicts import BetaPrior, Prior

__all__ = ["HistoryPrior", "history_prior"]


@attrs.frozen(kw_only=True)
class HistoryPrior:
    """A test's own prior: ``P(broken)`` before tonight and its failure-rate posterior.

    ``P(broken | k failed reruns) = h / (h + (1 - h) E[p^k])``, ``p`` under the
    test's posterior Beta(a, b) size-biased by tonight's failure: Beta(a + 1, b).
    """

    broken: float
    alpha: float
    beta: float

    def p_broken(self, failed_reruns: int) -> float:
        if self.broken >= 1.0:
            return 1.0
        a, b = self.alpha + 1.0, self.beta
        # E[p^k] as a sum of logs: it underflows for many reruns of a rare flake.
        log_moment = sum(math.log((a + i) / (a + b + i)) for i in range(failed_reruns))
        flaky = (1.0 - self.broken) * math.exp(log_moment)
        return self.broken / (self.broken + flaky)


def history_prior(
    flake: TestFlake | Iterable[Observation | NightTally] | None,
    population: BetaPrior,
    *,
    now: float | None = None,
    model: FlakeModel | None = None,
) -> Prior:
    """The prior a test's history gives its verdict tonight (the population's without one).

    ``flake`` is its :class:`TestFlake`, or its observations (then ``now`` is needed).
    A test failing for nights starts near ``P(broken) = 1`` (decided without a rerun);
    a known flake keeps a low ``P(broken)`` (``break_hazard`` at least), weighed with its
    own failure rate instead of the population's.
    """
    model = model or FlakeModel()
    if flake is not None and not isinstance(flake, TestFlake):
        if now is None:
            raise ValueError("history_prior of observations needs now=")
        found = summarize(flake, now=now, model=model)
        flake = found[0] if found else None
    if flake is None or flake.runs < model.new_runs:
        return population
    broken = max(flake.p_broken, model.break_hazard)
    return HistoryPrior(broken=broken, alpha=flake.alpha, beta=flake.beta)
