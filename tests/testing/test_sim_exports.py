"""The public testing API resolves (tests/test_public_api.py compares it with the namespace)."""

from __future__ import annotations

import pytest

import rerunorch.testing


def test_all_names_resolve() -> None:
    assert rerunorch.testing.__all__ == [
        "MockClock",
        "NightlyConfig",
        "Outage",
        "RateChange",
        "SAMPLE_STARTED",
        "Simulator",
        "SimulatorConfig",
        "SimulatorStats",
        "sample_report",
    ]
    for name in ("MockClock", "Simulator", "SimulatorConfig", "SimulatorStats", "sample_report"):
        assert getattr(rerunorch.testing, name).__name__ == name
    assert rerunorch.testing.sample_report().summary.targets == 4


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = rerunorch.testing.NotThere  # type: ignore[attr-defined]
