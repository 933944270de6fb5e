"""pytest fixtures for testing against the simulator (loaded through the ``pytest11`` entry
point, so installing rerunorch is enough).

Fixtures:
    simulator_clock: A fast :class:`~rerunorch.clock.ScaledClock` (100 simulated seconds per
        real second); override it to change the pace.
    simulator_config: The :class:`~rerunorch.testing.SimulatorConfig` to serve; override it, or
        mark a test ``@pytest.mark.simulator(targets=3, fault_503_rate=0.1)`` to change fields.
    simulator: A running :class:`~rerunorch.testing.Simulator` (needs pytest-asyncio).

Example::

    async def test_sweep(simulator):
        report = await my_sweep(simulator.base_url, simulator.api_key, simulator.target_ids,
                                clock=simulator.clock)
        assert simulator.stats.duplicate_rerun_attempts == 0
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import attrs
import pytest

from rerunorch.clock import Clock, ScaledClock

from .config import SimulatorConfig

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = ["simulator", "simulator_clock", "simulator_config"]

TIME_SCALE = 100.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "simulator(**fields): SimulatorConfig fields for the rerunorch simulator fixture",
    )


@pytest.fixture
def simulator_clock() -> Clock:
    """The simulator's (and your code's) clock: 100 simulated seconds per real second."""
    return ScaledClock(TIME_SCALE)


@pytest.fixture
def simulator_config(request: pytest.FixtureRequest) -> SimulatorConfig:
    """A small seeded data set; ``@pytest.mark.simulator(**fields)`` changes fields."""
    config = SimulatorConfig(seed=1, targets=5, passed_targets=1)
    marker = request.node.get_closest_marker("simulator")
    if marker is not None:
        config = attrs.evolve(config, **marker.kwargs)
    return config


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without the test extra there is no async fixture

    @pytest.fixture
    def simulator() -> None:
        """Needs pytest-asyncio (``pip install rerunorch[test]``)."""
        pytest.skip("the 'simulator' fixture needs pytest-asyncio")

else:

    @pytest_asyncio.fixture
    async def simulator(  # type: ignore[misc]  # the fallback above is the other branch
        simulator_config: SimulatorConfig, simulator_clock: Clock
    ) -> AsyncIterator[Simulator]:
        """A simulator on 127.0.0.1 (a free port), stopped after the test."""
        from .simulator import Simulator

        async with Simulator(simulator_config, clock=simulator_clock) as sim:
            yield sim
