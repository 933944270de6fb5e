"""Shared fixtures: the simulator fixtures come from rerunorch's own pytest plugin."""

from __future__ import annotations

import pytest

from rerunorch.clock import Clock, ScaledClock


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    """Faster than the plugin's default: a 2-minute rerun lasts 0.12 s."""
    return ScaledClock(1000)
