"""What history tells tonight's sweep (docs/verdicts.md, "History feeds the sweep").

A :class:`SweepHistory` is read once before the sweep, from the ledger's tallies:

- each test's own prior (:func:`~rerunorch.ledger.model.history_prior`) for the rounds;
- the tests broken for ``broken_nights`` nights or more, not rerun again (unless
  ``rerun_broken``): they get their verdict, ``broken``, from history;
- the quarantined tests: flaky (never broken) at ``quarantine_rate`` or more and
  failing within ``quarantine_days``, or quarantined by hand; their failures do not
  fail the sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from rerunorch.api.models import TestCaseResult
from rerunorch.ledger.model import FlakeModel, summarize
from rerunorch.ledger.overrides import Overrides
from rerunorch.ledger.prior import history_prior
from rerunorch.ledger.records import FlakeStatus, TestFlake
from rerunorch.ledger.tallies import NightTally, test_key
from rerunorch.verdicts import BetaPrior, Prior, PriorFor, Seen, TestEvidence

__all__ = ["SweepHistory"]


@attrs.frozen(kw_only=True)
class SweepHistory:
    """The ledger's word on each test, as of the sweep's start.

    Attributes:
        flakes: Each test's history, by :func:`~rerunorch.ledger.model.test_key`.
        model: The flake model's settings.
        rerun_broken: Rerun the tests broken for nights too (``--rerun-broken``).
        overrides: The manual quarantine file.
    """

    flakes: Mapping[object, TestFlake] = attrs.field(factory=dict)
    model: FlakeModel = attrs.field(factory=FlakeModel)
    rerun_broken: bool = False
    overrides: Overrides = attrs.field(factory=Overrides)

    @classmethod
    def of(
        cls,
        tallies: Iterable[NightTally],
        *,
        now: float,
        model: FlakeModel | None = None,
        rerun_broken: bool = False,
        overrides: Overrides | None = None,
    ) -> SweepHistory:
        """The history of ``tallies`` as of ``now``."""
        model = model or FlakeModel()
        return cls.of_flakes(
            summarize(tallies, now=now, model=model),
            model=model,
            rerun_broken=rerun_broken,
            overrides=overrides,
        )

    @classmethod
    def of_flakes(
        cls,
        found: Iterable[TestFlake],
        *,
        model: FlakeModel | None = None,
        rerun_broken: bool = False,
        overrides: Overrides | None = None,
    ) -> SweepHistory:
        """The history of tests already summed up (e.g. ``LedgerStore.summaries``)."""
        model = model or FlakeModel()
        flakes = {test_key(f.test_case_id, f.test_case_name): f for f in found}
        return cls(
            flakes=flakes,
            model=model,
            rerun_broken=rerun_broken,
            overrides=overrides or Overrides(),
        )

    def flake(self, test_case_id: int | None, name: str | None) -> TestFlake | None:
        return self.flakes.get(test_key(test_case_id, name))

    def prior_for(self, population: BetaPrior) -> PriorFor:
        """Each test's own prior (the population's for a test without history)."""

        def prior(test: TestEvidence) -> Prior:
            flake = self.flake(test.test_case_id, test.test_case_name)
            return history_prior(flake, population, model=self.model)

        return prior

    def known_broken(self, test_case_id: int | None, name: str | None) -> TestFlake | None:
        """The test's history if it has failed every run for ``broken_nights`` nights."""
        flake = self.flake(test_case_id, name)
        if self.rerun_broken or flake is None or flake.status is not FlakeStatus.BROKEN:
            return None
        return flake if flake.streak_nights >= self.model.broken_nights else None

    def knows_broken(self, plan_id: int | None) -> bool:
        """Whether some test of this plan (None: of any) is broken for nights: only then
        does the first round need the run's test cases to leave them out."""
        return any(
            self.known_broken(f.test_case_id, f.test_case_name) is not None
            for f in self.flakes.values()
            if plan_id is None or f.plan_id in (plan_id, None)
        )

    def broken_failures(
        self, test_cases: Iterable[TestCaseResult]
    ) -> list[tuple[TestCaseResult, TestFlake]]:
        """The failed tests among ``test_cases`` that are known broken: not rerun again."""
        found = []
        for tc in test_cases:
            if Seen.of(tc.result) is Seen.PASS:
                continue
            flake = self.known_broken(tc.test_case_id, tc.test_case_name)
            if flake is not None:
                found.append((tc, flake))
        return found

    def quarantined(self, test_case_id: int | None, name: str | None) -> str | None:
        """Why the test is quarantined (by hand, or flaky above the rate), or None."""
        by_hand = self.overrides.quarantined(test_case_id, name)
        if by_hand is not None:
            return by_hand
        flake = self.flake(test_case_id, name)
        if flake is None or not flake.quarantined or self.overrides.released(test_case_id, name):
            return None
        return f"flaky at {flake.rate:.0%} over {flake.nights} night(s)"
