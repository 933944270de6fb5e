"""A work-stealing fleet on Redis Streams: every worker with one fleet name sweeps one
set of targets (docs/scaling.md).

- :mod:`~rerunorch.fleet.records` (:class:`Fleet`): the keys, publishing the targets
  once, reading the records back.
- :mod:`~rerunorch.fleet.worker` (:class:`FleetWorker`): claiming (``XREADGROUP``,
  ``XAUTOCLAIM``), the leases, the fenced writes; its :meth:`FleetWorker.claims` is a
  sweep's target source.
- :mod:`~rerunorch.fleet.journal` (:class:`FleetJournal`): the sweep's journal,
  writing through to the fleet.
- :mod:`~rerunorch.fleet.report` (:func:`fleet_report`): the merged report.
"""

from __future__ import annotations

from rerunorch.fleet.journal import FleetJournal
from rerunorch.fleet.records import Fleet, check_fleet_name
from rerunorch.fleet.report import fleet_report
from rerunorch.fleet.worker import DEFAULT_LEASE, ClaimLost, FleetWorker

__all__ = [
    "DEFAULT_LEASE",
    "ClaimLost",
    "Fleet",
    "FleetJournal",
    "FleetWorker",
    "check_fleet_name",
    "fleet_report",
]
