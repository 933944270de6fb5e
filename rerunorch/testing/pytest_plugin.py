"""pytest fixtures for testing against the simulator (loaded through the ``pytest11`` entry
point, so installing rerunorch is enough).

Their names start with ``rerunorch_`` so that they never clash with a project's own
fixtures (``simulator`` is a common name):

Fixtures:
    rerunorch_simulator_clock: A fast :class:`~rerunorch.clock.ScaledClock` (100 simulated
        seconds per real second); override it to change the pace.
    rerunorch_simulator_config: The :class:`~rerunorch.testing.SimulatorConfig` to serve;
        override it, or mark a test ``@pytest.mark.simulator(targets=3, fault_503_rate=0.1)``
        to change fields.
    rerunorch_simulator: A running :class:`~rerunorch.testing.Simulator` (needs pytest-asyncio).

The old names ``simulator``, ``simulator_config`` and ``simulator_clock`` still work
for this release (a project's own fixture of that name wins, as before), with a
``DeprecationWarning``; they go in the next one.

Example::

    async def test_sweep(rerunorch_simulator):
        sim = rerunorch_simulator
        report = await my_sweep(sim.base_url, sim.api_key, sim.target_ids, clock=sim.clock)
        assert sim.stats.duplicate_rerun_attempts == 0
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from rerunorch.clock import Clock, ScaledClock

from .config import SimulatorConfig

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = [
    "rerunorch_simulator",
    "rerunorch_simulator_clock",
    "rerunorch_simulator_config",
    "simulator",
    "simulator_clock",
    "simulator_config",
]

TIME_SCALE = 100.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "simulator(**fields): SimulatorConfig fields for the rerunorch_simulator fixture",
    )


def _deprecated(old: str) -> None:
    warnings.warn(
        f"the {old!r} fixture is now 'rerunorch_{old}'; {old!r} goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )


def marked_config(config: SimulatorConfig, fields: dict[str, Any]) -> SimulatorConfig:
    """``config`` with the fields of ``@pytest.mark.simulator(**fields)``; a typo fails the test
    naming the keyword."""
    known = [field.name for field in attrs.fields(SimulatorConfig)]
    for name in fields:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            pytest.fail(
                f"@pytest.mark.simulator: unknown field {name!r}{hint} "
                f"(SimulatorConfig has: {', '.join(known)})",
                pytrace=False,
            )
    try:
        return attrs.evolve(config, **fields)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"@pytest.mark.simulator: {exc}", pytrace=False)


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    """The simulator's (and your code's) clock: 100 simulated seconds per real second."""
    return ScaledClock(TIME_SCALE)


@pytest.fixture
def rerunorch_simulator_config(request: pytest.FixtureRequest) -> SimulatorConfig:
    """A small seeded data set; ``@pytest.mark.simulator(**fields)`` changes fields."""
    config = SimulatorConfig(seed=1, targets=5, passed_targets=1)
    marker = request.node.get_closest_marker("simulator")
    if marker is not None:
        config = marked_config(config, dict(marker.kwargs))
    return config


@pytest.fixture
def simulator_clock(rerunorch_simulator_clock: Clock) -> Clock:
    """Deprecated: ``rerunorch_simulator_clock``."""
    _deprecated("simulator_clock")
    return rerunorch_simulator_clock


@pytest.fixture
def simulator_config(rerunorch_simulator_config: SimulatorConfig) -> SimulatorConfig:
    """Deprecated: ``rerunorch_simulator_config``."""
    _deprecated("simulator_config")
    return rerunorch_simulator_config


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - without the test extra there is no async fixture

    @pytest.fixture
    def rerunorch_simulator() -> None:
        """Needs pytest-asyncio (``pip install rerunorch[test]``)."""
        pytest.skip("the 'rerunorch_simulator' fixture needs pytest-asyncio")

    @pytest.fixture
    def simulator() -> None:
        """Deprecated: ``rerunorch_simulator``."""
        pytest.skip("the 'simulator' fixture needs pytest-asyncio")

else:

    @pytest_asyncio.fixture
    async def rerunorch_simulator(  # type: ignore[misc]  # the fallback above is the other branch
        rerunorch_simulator_config: SimulatorConfig, rerunorch_simulator_clock: Clock
    ) -> AsyncIterator[Simulator]:
        """A simulator on 127.0.0.1 (a free port), stopped after the test."""
        from .simulator import Simulator

        async with Simulator(rerunorch_simulator_config, clock=rerunorch_simulator_clock) as sim:
            yield sim

    @pytest_asyncio.fixture
    async def simulator(  # type: ignore[misc]  # the fallback above is the other branch
        simulator_config: SimulatorConfig, simulator_clock: Clock
    ) -> AsyncIterator[Simulator]:
        """Deprecated: ``rerunorch_simulator`` (this one takes the old-named fixtures, so a
        project's own ``simulator_config`` or ``simulator_clock`` still applies)."""
        _deprecated("simulator")
        from .simulator import Simulator

        async with Simulator(simulator_config, clock=simulator_clock) as sim:
            yield sim
