"""What the JUnit file needs beyond the report: each run's test-case results and duration.

The report keeps each test's verdict and the runs of its chain, not which run it
failed in, its suite or its time. With ``--junit``, those are read once the sweep
has ended (unless the server went away): two ``GET`` requests for each run of a
chain that holds a judged test (its test-case results, and the run for its
duration), a few at a time. A run that cannot be read is left out (its tests are
counted from their verdicts) and said in a note.
"""

from __future__ import annotations

import anyio

from rerunorch.api.client import TestsigmaClient
from rerunorch.api.models import ExecutionResult
from rerunorch.clock import Clock
from rerunorch.errors import ApiError
from rerunorch.report.junit import RunRecord
from rerunorch.report.model import SweepReport
from rerunorch.secret import Secret
from rerunorch.settings import SweepSettings

__all__ = ["read_records"]

_AT_ONCE = 4


def run_ids(report: SweepReport) -> list[int]:
    """The runs of every chain that holds a judged test, in order, each once."""
    seen: dict[int, None] = {}
    for outcome in report.results:
        for test in outcome.tests:
            seen.update(dict.fromkeys(test.run_ids))
    return list(seen)


async def read_records(
    report: SweepReport, settings: SweepSettings, key: Secret, *, clock: Clock | None = None
) -> tuple[dict[int, RunRecord], list[str]]:
    """Each run's :class:`RunRecord`, and a note for the runs that could not be read
    (``clock``: the sweep's, for the retries' waits)."""
    wanted = run_ids(report)
    records: dict[int, RunRecord] = {}
    failed: list[int] = []
    if not wanted:
        return records, []
    limit = anyio.CapacityLimiter(_AT_ONCE)
    client = TestsigmaClient(
        key,
        settings.base_url,
        timeout=settings.request_timeout,
        max_response_bytes=settings.max_response_bytes,
        max_attempts=3,
        clock=clock,
    )

    async def read(run_id: int) -> None:
        async with limit:
            try:
                cases = await client.get_test_case_results(run_id)
                run = await client.get_run(run_id)
            except ApiError:
                failed.append(run_id)
                return
            records[run_id] = RunRecord(cases, _seconds(run))

    async with client, anyio.create_task_group() as tg:
        for run_id in wanted:
            tg.start_soon(read, run_id)
    report.summary.requests += client.counters.requests
    notes = []
    if failed:
        shown = ", ".join(map(str, sorted(failed)[:10])) + (" ..." if len(failed) > 10 else "")
        notes.append(
            f"junit: {len(failed)} of {len(wanted)} runs could not be read ({shown}); "
            "their tests' attempts are counted from the verdicts, without times"
        )
    return records, notes


def _seconds(run: ExecutionResult) -> float | None:
    millis = run.duration
    if millis is None and run.start_time is not None and run.end_time is not None:
        millis = run.end_time - run.start_time
    return None if millis is None or millis < 0 else millis / 1000.0
