"""The :class:`Simulator`: a seeded, misbehaving-on-demand Testsigma on a local socket."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from rerunorch.clock import Clock, SystemClock

from .app import SimulatorApp
from .config import SimulatorConfig
from .dataset import Dataset
from .ids import IdLayout
from .index import RunIndex
from .model import SUCCESS, Run
from .nights import DAY, Nights
from .render import run_json, test_case_results_json
from .state import SimState
from .stats import SimulatorStats, StatsRecorder

__all__ = ["Simulator"]

log = logging.getLogger(__name__)


class Simulator:
    """A real aiohttp server on ``host`` that answers like Testsigma's execution-results API.

    Example::

        async with Simulator(SimulatorConfig(seed=1), clock=ScaledClock(100)) as sim:
            ...  # sweep sim.target_ids at sim.base_url with sim.api_key
            assert sim.stats.duplicate_rerun_attempts == 0

    Args:
        config: What it serves and how it misbehaves (defaults to ``SimulatorConfig()``).
        clock: Its time; share it with the code under test (a ``ScaledClock`` makes tests fast).
        host: Address to listen on.
        port: Port to listen on; 0 picks a free one.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self._host = host
        self._port = port
        self._layout = IdLayout.for_config(self.config)
        epoch = self._dataset_epoch = self.clock.time()
        self._dataset = Dataset(self.config, self._layout, epoch)
        nightly = self.config.nightly is not None
        self._nights = Nights(self.config, self._layout, epoch) if nightly else None
        self._stats = StatsRecorder()
        self._state = SimState(self.config, self._layout, self._dataset, self._stats, self._nights)
        index = RunIndex(self._layout, self._dataset, self._state, self._nights)
        self._app = SimulatorApp(
            self.config, self.clock, self._state, self._stats, self._lists, index
        )
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    def __repr__(self) -> str:
        return f"Simulator(base_url={self._base_url!r}, config={self.config!r})"

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start listening (``async with`` does it for you)."""
        runner = web.AppRunner(self._app.build(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        log.info("simulator listening on %s", self._base_url)

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (clients append ``/api/v1/...``)."""
        if self._base_url is None:
            raise RuntimeError("the simulator is not started; use 'async with Simulator(...)'")
        return self._base_url

    @property
    def api_key(self) -> str:
        """The API key it accepts."""
        return self.config.api_key

    @property
    def target_ids(self) -> list[int]:
        """Seeded original runs with failures (what a sweep reruns); with ``nightly``, the
        newest night's failed runs."""
        if self._nights is not None:
            return [run.id for run in self._nights.runs(-1) if not self._passed(run)]
        return list(range(self._layout.run, self._layout.run + self.config.targets))

    @property
    def passed_ids(self) -> list[int]:
        """Seeded original runs that fully passed; with ``nightly``, the newest night's."""
        if self._nights is not None:
            return [run.id for run in self._nights.runs(-1) if self._passed(run)]
        first = self._layout.run + self.config.targets
        return list(range(first, first + self.config.passed_targets))

    @property
    def plan_ids(self) -> list[int]:
        """The test plans of the seeded runs (``executionId``, v2's ``testPlanId``)."""
        if self._nights is not None:
            return self._nights.plan_ids
        count = self.config.plans if self.config.plans is not None else self._layout.count
        return list(range(self._layout.plan, self._layout.plan + min(count, self._layout.count)))

    def failed_runs(
        self, plans: Iterable[int], since: float | None = None, until: float | None = None
    ) -> list[int]:
        """The truth discovery must find: the seeded original runs of ``plans`` started in
        ``[since, until)`` (epoch seconds) that did not pass, in id order."""
        wanted = set(plans)
        found = []
        for run in self._originals():
            started = run.created_at
            if run.execution_id not in wanted or (since is not None and started < since):
                continue
            if until is not None and started >= until:
                continue
            if not self._passed(run):
                found.append(run.id)
        return sorted(found)

    # -- nights (SimulatorConfig.nightly) -----------------------------------------------

    @property
    def night_count(self) -> int:
        """Nights made so far (0 without ``nightly``)."""
        return self._nights.count if self._nights is not None else 0

    def new_night(self) -> list[int]:
        """Make the next night: every plan's runs, a day after the newest night's; its ids.

        Its runs end a day after the newest night's (1-7 h before "now" a day later), so
        move the clock a day on first (``MockClock.advance(86400)``).

        Raises:
            RuntimeError: Without ``nightly``, or if the clock has not reached the end of
                the new night's runs (nothing is made then).
        """
        nights = self._require_nights()
        newest = nights.config.nights - 1
        due = self._epoch_of_night(nights.count - newest)
        if self.clock.time() < due:
            raise RuntimeError(
                f"night {nights.count} is not over before {due - self.clock.time():.0f} s more "
                "of the simulator's clock: move its clock a day on first"
            )
        return [run.id for run in self._state.new_night()]

    def night_runs(self, night: int = -1) -> list[int]:
        """The original runs of ``night`` (0 the oldest; negative counts from the newest).

        Raises:
            RuntimeError: Without ``nightly``.
            IndexError: If there is no such night.
        """
        return [run.id for run in self._require_nights().runs(night)]

    def night_of(self, result_id: int) -> int | None:
        """The night of a run (an original run or a rerun of one); None if not of a night.

        Raises:
            KeyError: If there is no such run.
        """
        run = self._get(result_id)
        return self._nights.night_of(run) if self._nights is not None else None

    def night_tests(self) -> dict[int, str]:
        """``testCaseId`` -> name of every test the nights run (the same every night), in
        the order :class:`~rerunorch.testing.RateChange` numbers them.

        Raises:
            RuntimeError: Without ``nightly``.
        """
        return self._require_nights().tests()

    def true_rates(self, night: int = -1) -> dict[int, float]:
        """``testCaseId`` -> its true chance of failing one execution on ``night``.

        Raises:
            RuntimeError: Without ``nightly``.
            IndexError: If there is no such night.
        """
        nights = self._require_nights()
        number = night if night >= 0 else nights.count + night
        if not 0 <= number < nights.count:
            raise IndexError(f"there is no night {night}: {nights.count} nights were made")
        return nights.rates(number)

    def outage_runs(self, night: int = -1) -> list[int]:
        """The runs of ``night`` that an outage hit (their failures are no flake evidence).

        Raises:
            RuntimeError: Without ``nightly``.
            IndexError: If there is no such night.
        """
        return [run.id for run in self._require_nights().outage_runs(night)]

    def _require_nights(self) -> Nights:
        if self._nights is None:
            raise RuntimeError("this simulator has no nights: use SimulatorConfig(nightly=...)")
        return self._nights

    def _epoch_of_night(self, offset: int) -> float:
        """The clock time at which night ``last + offset``'s runs are all over."""
        return self._dataset_epoch + offset * DAY - 3600

    def _originals(self) -> list[Run]:
        if self._nights is not None:
            return [self._nights.flat(i) for i in range(self._nights.total)]
        return [self._dataset.original(i) for i in range(self._layout.count)]

    def _passed(self, run: Run) -> bool:
        return self._state.view(run, self.clock.time()).result == SUCCESS

    @property
    def stats(self) -> SimulatorStats:
        """A snapshot of the counters."""
        return self._stats.snapshot()

    def truth(self, result_id: int) -> dict[int, str]:
        """``testCaseId`` -> ``"flaky"``, ``"broken"`` or ``"passed"``: what a rerun of the run's
        tests will give.

        Raises:
            KeyError: If there is no such run.
        """
        return self._state.truth(self._get(result_id))

    def fail_rates(self, result_id: int) -> dict[int, float]:
        """``testCaseId`` -> its true chance of failing a rerun (1 broken, 0 passed).

        Raises:
            KeyError: If there is no such run.
        """
        return self._state.fail_rates(self._get(result_id))

    def reruns_of(self, result_id: int) -> list[int]:
        """Ids of the chain's runs after ``result_id``, oldest first.

        Raises:
            KeyError: If there is no such run.
        """
        now = self.clock.time()
        return [run.id for run in self._state.descendants(self._get(result_id), now)]

    def run(self, result_id: int) -> dict[str, Any]:
        """The run's execution-result object, as the API would answer now.

        Raises:
            KeyError: If there is no such run.
        """
        run = self._get(result_id)
        return run_json(self._state, self.config, run, self.clock.time())

    def cases(self, result_id: int) -> list[dict[str, Any]]:
        """The run's ``testCases``, as the API would answer now.

        Raises:
            KeyError: If there is no such run.
        """
        run = self._get(result_id)
        answer = test_case_results_json(self._state, run, self.clock.time())
        return list(answer["testCases"])

    def _get(self, result_id: int) -> Run:
        run = self._state.get(result_id)
        if run is None:
            raise KeyError(result_id)
        return run

    def _lists(self) -> dict[str, list[int]]:
        return {"targets": self.target_ids, "passed": self.passed_ids}
