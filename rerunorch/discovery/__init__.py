"""Discovery: the runs a sweep takes from the run index instead of a list of ids.

``rerunorch sweep --plan 274 --plan 275 --since 12h`` lists the runs of plans 274
and 275 started in the last 12 hours (``GET /api/v2/test_runs``, page by page,
through the sweep's pacer) and sweeps the original runs that did not pass:

>>> discovery = RunDiscovery.of(plans=frozenset({274, 275}), window=Window.parse("12h", None))
>>> sweep = Sweep(discovery, settings, api_key=key)          # doctest: +SKIP

- :mod:`~rerunorch.discovery.query`: Testsigma's query syntax, checked up front.
- :mod:`~rerunorch.discovery.window`: ``--since``/``--until``.
- :mod:`~rerunorch.discovery.finder`: the pages, and why each run is taken or left out.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rerunorch.discovery.finder import Finding as Finding
    from rerunorch.discovery.finder import RunDiscovery as RunDiscovery
    from rerunorch.discovery.finder import decide as decide
    from rerunorch.discovery.query import Criterion as Criterion
    from rerunorch.discovery.query import Query as Query
    from rerunorch.discovery.window import Bound as Bound
    from rerunorch.discovery.window import Window as Window

# Each name's module, imported on first use: ``window`` alone (``rerunorch flaky --since``)
# does not pull in the finder and its HTTP client.
_HOMES = {
    "Bound": "window",
    "Criterion": "query",
    "Finding": "finder",
    "Query": "query",
    "RunDiscovery": "finder",
    "Window": "window",
    "decide": "finder",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
