"""The pytest plugin, used from a separate project as a plugin author would."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

AUTHOR_TESTS = """
import aiohttp
import pytest

from rerunorch.clock import ScaledClock
from rerunorch.testing import Simulator

pytestmark = pytest.mark.asyncio


async def test_simulator_fixture(simulator):
    assert isinstance(simulator, Simulator)
    assert isinstance(simulator.clock, ScaledClock)
    assert len(simulator.target_ids) == 5
    headers = {"Authorization": f"Bearer {simulator.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        url = f"{simulator.base_url}/api/v1/execution_results/{simulator.target_ids[0]}"
        async with session.get(url) as response:
            assert response.status == 200
    assert simulator.stats.requests == 1


@pytest.mark.simulator(targets=2, fault_503_rate=1.0)
async def test_marker_changes_the_config(simulator, simulator_config):
    assert simulator.config is simulator_config
    assert simulator.target_ids == simulator.target_ids[:2] and len(simulator.target_ids) == 2
"""

OVERRIDE_TESTS = """
import pytest

from rerunorch.clock import ScaledClock
from rerunorch.testing import SimulatorConfig

pytestmark = pytest.mark.asyncio


@pytest.fixture
def simulator_config():
    return SimulatorConfig(seed=9, targets=1, passed_targets=0)


@pytest.fixture
def simulator_clock():
    return ScaledClock(1000)


async def test_overridden_config_and_clock(simulator):
    assert simulator.config.seed == 9
    assert simulator.passed_ids == []
    assert simulator.clock.scale == 1000
"""


def test_fixtures_work_from_a_separate_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_author=AUTHOR_TESTS, test_override=OVERRIDE_TESTS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
