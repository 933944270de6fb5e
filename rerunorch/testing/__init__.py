"""A Testsigma simulator for tests, benchmarks, demos and plugin authors.

:class:`Simulator` serves the execution-results API on a local socket, seeded and repeatable,
and misbehaves on demand (rate limits, 503s, lost answers, auto-reruns, busy plans). The
``simulator`` pytest fixture (this package's pytest plugin) starts one per test.

Names are imported lazily so that ``import rerunorch.testing.cli`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .reports import SAMPLE_STARTED, sample_report
    from .simulator import Simulator
    from .stats import SimulatorStats

__all__ = ["SAMPLE_STARTED", "Simulator", "SimulatorConfig", "SimulatorStats", "sample_report"]

_HOMES = {
    "Simulator": ".simulator",
    "SimulatorConfig": ".config",
    "SimulatorStats": ".stats",
    "SAMPLE_STARTED": ".reports",
    "sample_report": ".reports",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
