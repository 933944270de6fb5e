"""The public testing API is exactly what ``__all__`` names."""

from __future__ import annotations

import pytest

import rerunorch.testing


def test_all_names_resolve() -> None:
    assert rerunorch.testing.__all__ == [
        "SAMPLE_STARTED",
        "Simulator",
        "SimulatorConfig",
        "SimulatorStats",
        "sample_report",
    ]
    for name in ("Simulator", "SimulatorConfig", "SimulatorStats", "sample_report"):
        assert getattr(rerunorch.testing, name).__name__ == name
    assert rerunorch.testing.sample_report().summary.targets == 4
    assert set(rerunorch.testing.__all__) <= set(dir(rerunorch.testing))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = rerunorch.testing.NotThere  # type: ignore[attr-defined]
