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

from rerunorch.discovery.finder import Finding, RunDiscovery, decide
from rerunorch.discovery.query import Criterion, Query
from rerunorch.discovery.window import Bound, Window

__all__ = ["Bound", "Criterion", "Finding", "Query", "RunDiscovery", "Window", "decide"]
