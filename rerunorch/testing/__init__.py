"""A Testsigma simulator and a fake clock, for tests, benchmarks, demos and plugin authors.

:class:`Simulator` serves the execution-results API on a local socket, seeded and repeatable,
and misbehaves on demand (rate limits, 503s, lost answers, auto-reruns, busy plans). The
``simulator`` pytest fixture (this package's pytest plugin) starts one per test.
:class:`MockClock` is a :class:`~rerunorch.clock.Clock` whose time moves only when a test
says so, or (``autojump=True``) whenever every task waits.

Names are imported lazily so that ``import rerunorch.testing.cli`` stays cheap; as in
:mod:`rerunorch`, ``_HOMES`` is the source of ``__all__`` and the block below is what type
checkers read (tests/test_public_api.py keeps the two equal).
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from rerunorch.testing.clock import MockClock as MockClock
    from rerunorch.testing.config import SimulatorConfig as SimulatorConfig
    from rerunorch.testing.nightly import NightlyConfig as NightlyConfig
    from rerunorch.testing.nightly import Outage as Outage
    from rerunorch.testing.nightly import RateChange as RateChange
    from rerunorch.testing.reports import SAMPLE_STARTED as SAMPLE_STARTED
    from rerunorch.testing.reports import sample_report as sample_report
    from rerunorch.testing.simulator import Simulator as Simulator
    from rerunorch.testing.stats import SimulatorStats as SimulatorStats

# Exported name -> the module it is imported from on first use.
_HOMES: dict[str, str] = {
    "MockClock": "rerunorch.testing.clock",
    "SimulatorConfig": "rerunorch.testing.config",
    "NightlyConfig": "rerunorch.testing.nightly",
    "Outage": "rerunorch.testing.nightly",
    "RateChange": "rerunorch.testing.nightly",
    "SAMPLE_STARTED": "rerunorch.testing.reports",
    "sample_report": "rerunorch.testing.reports",
    "Simulator": "rerunorch.testing.simulator",
    "SimulatorStats": "rerunorch.testing.stats",
}

__all__ = sorted(_HOMES)

if not _typing.TYPE_CHECKING:
    # Hidden from type checkers, so that a misspelt name is an error for them.

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
