"""Shared fixtures: the simulator fixtures come from rerunorch's own pytest plugin."""

from __future__ import annotations

import pytest
from postgres_server import ledger_url, postgres  # noqa: F401  (fixtures for every module)
from redis_server import redis_server  # noqa: F401  (a fixture for every module)

from rerunorch.clock import Clock, ScaledClock
from rerunorch.testing import Simulator, SimulatorConfig


@pytest.fixture(autouse=True)
def _ledger_in_tmp(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sweep a test runs (in-process or not) records in its own temporary ledger, never
    in .rerunorch/ of the checkout; a test that means the default unsets RERUNORCH_HISTORY."""
    monkeypatch.setenv("RERUNORCH_HISTORY", f"{tmp_path}/history.sqlite")


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    """Faster than the plugin's default: a 2-minute rerun lasts 0.12 s."""
    return ScaledClock(1000)


# This suite's tests name the simulator fixtures by their short, older names. A project's
# own fixtures of those names take precedence over the plugin's deprecated aliases, as a
# user's would: that is the clash the ``rerunorch_`` prefix avoids.
@pytest.fixture
def simulator_clock(rerunorch_simulator_clock: Clock) -> Clock:
    return rerunorch_simulator_clock


@pytest.fixture
def simulator_config(rerunorch_simulator_config: SimulatorConfig) -> SimulatorConfig:
    return rerunorch_simulator_config


@pytest.fixture
def simulator(rerunorch_simulator: Simulator) -> Simulator:
    return rerunorch_simulator
