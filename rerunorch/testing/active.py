"""Which runs are not yet completed, counted cheaply as time passes."""

from __future__ import annotations

import heapq
from collections import Counter

__all__ = ["ActiveRuns"]


class ActiveRuns:
    """Runs not yet completed, per plan; runs leave when their end time passes or on stop."""

    def __init__(self) -> None:
        self._ends: list[tuple[float, int]] = []
        self._plans: dict[int, int] = {}
        self._per_plan: Counter[int] = Counter()

    def add(self, run_id: int, plan_id: int, end: float, now: float) -> int:
        """Add a run that ends at ``end``; answer how many are active now."""
        self.prune(now)
        if end > now:
            heapq.heappush(self._ends, (end, run_id))
            self._plans[run_id] = plan_id
            self._per_plan[plan_id] += 1
        return len(self._plans)

    def remove(self, run_id: int) -> None:
        """Forget a stopped run."""
        plan_id = self._plans.pop(run_id, None)
        if plan_id is not None:
            self._per_plan[plan_id] -= 1

    def count(self, now: float) -> int:
        """Runs active at ``now``."""
        self.prune(now)
        return len(self._plans)

    def plan_busy(self, plan_id: int, now: float) -> bool:
        """Whether ``plan_id`` has a run active at ``now``."""
        self.prune(now)
        return self._per_plan[plan_id] > 0

    def prune(self, now: float) -> None:
        """Drop the runs that have ended by ``now``."""
        ends = self._ends
        while ends and ends[0][0] <= now:
            _, run_id = heapq.heappop(ends)
            self.remove(run_id)
