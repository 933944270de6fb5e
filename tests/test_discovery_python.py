"""A program sweeps plans from Python with ``rerunorch.RunDiscovery``, as the README shows."""

from __future__ import annotations

import pytest

from rerunorch import RunDiscovery, Sweep, SweepSettings, Window
from rerunorch.testing import Simulator

DAY = 24 * 3600.0


@pytest.mark.simulator(targets=24, passed_targets=6, plans=3, nights=3)
async def test_a_run_discovery_is_a_sweeps_targets(simulator: Simulator) -> None:
    a, b, _ = simulator.plan_ids
    truth = simulator.failed_runs([a, b], since=simulator.clock.time() - DAY)
    assert truth
    found = RunDiscovery.of(plans=frozenset({a, b}), window=Window.parse("24h", None))
    settings = SweepSettings(base_url=simulator.base_url, wait=False)
    report = await Sweep(found, settings, api_key=simulator.api_key).run()
    assert sorted(outcome.target for outcome in report.results) == sorted(truth)
    assert simulator.stats.reruns_created == len(truth)
