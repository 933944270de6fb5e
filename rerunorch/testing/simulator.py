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
        self._dataset = Dataset(self.config, self._layout, self.clock.time())
        self._stats = StatsRecorder()
        self._state = SimState(self.config, self._layout, self._dataset, self._stats)
        index = RunIndex(self._layout, self._dataset, self._state)
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
        """Seeded original runs with failures (what a sweep reruns)."""
        return list(range(self._layout.run, self._layout.run + self.config.targets))

    @property
    def passed_ids(self) -> list[int]:
        """Seeded original runs that fully passed."""
        first = self._layout.run + self.config.targets
        return list(range(first, first + self.config.passed_targets))

    @property
    def plan_ids(self) -> list[int]:
        """The test plans of the seeded runs (``executionId``, v2's ``testPlanId``)."""
        count = self.config.plans if self.config.plans is not None else self._layout.count
        return list(range(self._layout.plan, self._layout.plan + min(count, self._layout.count)))

    def failed_runs(
        self, plans: Iterable[int], since: float | None = None, until: float | None = None
    ) -> list[int]:
        """The truth discovery must find: the seeded original runs of ``plans`` started in
        ``[since, until)`` (epoch seconds) that did not pass, in id order."""
        wanted, now = set(plans), self.clock.time()
        found = []
        for index in range(self._layout.count):
            run = self._dataset.original(index)
            started = run.created_at
            if run.execution_id not in wanted or (since is not None and started < since):
                continue
            if until is not None and started >= until:
                continue
            if self._state.view(run, now).result != SUCCESS:
                found.append(run.id)
        return found

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
