"""The simulator's counters: a mutable recorder and its frozen snapshot."""

from __future__ import annotations

from collections import Counter, deque

import attrs

__all__ = ["SimulatorStats", "StatsRecorder"]


@attrs.frozen(kw_only=True)
class SimulatorStats:
    """What the simulator has seen so far.

    Attributes:
        requests: ``/api/v1`` requests received (429s included).
        requests_by_endpoint: Requests per ``"METHOD /path/{template}"``.
        rate_limited: 429 answers sent.
        faults_503: Injected 503 answers.
        ambiguous_faults: Rerun POSTs whose rerun was created and whose answer was then lost.
        duplicate_rerun_attempts: Rerun POSTs for a run that already had a child, whatever the
            answer.
        reruns_created: Reruns created by POSTs (auto-reruns not included).
        auto_reruns_created: Reruns created by the server's auto-rerun.
        runs_created: Fresh (not rerun) runs created by POSTs.
        invalid_bodies: Bodies refused for their shape (unknown field, wrong type, bad JSON).
        unauthorized: 401 answers.
        peak_requests_per_second: Most requests accepted (not 429'd) in any one-second window
            of the simulator's clock.
        active_runs_peak: Most runs not yet completed at once.
    """

    requests: int = 0
    requests_by_endpoint: dict[str, int] = attrs.field(factory=dict)
    rate_limited: int = 0
    faults_503: int = 0
    ambiguous_faults: int = 0
    duplicate_rerun_attempts: int = 0
    reruns_created: int = 0
    auto_reruns_created: int = 0
    runs_created: int = 0
    invalid_bodies: int = 0
    unauthorized: int = 0
    peak_requests_per_second: int = 0
    active_runs_peak: int = 0

    def to_json(self) -> dict[str, object]:
        """The counters as a JSON object."""
        return attrs.asdict(self)


class StatsRecorder:
    """The live counters; :meth:`snapshot` freezes them."""

    def __init__(self) -> None:
        self.requests = 0
        self.by_endpoint: Counter[str] = Counter()
        self.rate_limited = 0
        self.faults_503 = 0
        self.ambiguous_faults = 0
        self.duplicate_rerun_attempts = 0
        self.reruns_created = 0
        self.auto_reruns_created = 0
        self.runs_created = 0
        self.invalid_bodies = 0
        self.unauthorized = 0
        self.active_runs_peak = 0
        self._peak_rps = 0
        self._window: deque[float] = deque()

    def request(self, endpoint: str) -> None:
        """Count a request to ``endpoint``."""
        self.requests += 1
        self.by_endpoint[endpoint] += 1

    def accepted(self, now: float) -> None:
        """Count a request let through the rate limit at monotonic clock time ``now``."""
        window = self._window
        window.append(now)
        while window[0] <= now - 1.0:
            window.popleft()
        if len(window) > self._peak_rps:
            self._peak_rps = len(window)

    def snapshot(self) -> SimulatorStats:
        """The counters now."""
        return SimulatorStats(
            requests=self.requests,
            requests_by_endpoint=dict(self.by_endpoint),
            rate_limited=self.rate_limited,
            faults_503=self.faults_503,
            ambiguous_faults=self.ambiguous_faults,
            duplicate_rerun_attempts=self.duplicate_rerun_attempts,
            reruns_created=self.reruns_created,
            auto_reruns_created=self.auto_reruns_created,
            runs_created=self.runs_created,
            invalid_bodies=self.invalid_bodies,
            unauthorized=self.unauthorized,
            peak_requests_per_second=self._peak_rps,
            active_runs_peak=self.active_runs_peak,
        )
