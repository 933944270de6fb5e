"""What a target's chain showed of each test, as the ledger's observations."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import attrs

from rerunorch.api.models import ExecutionResult, TestCaseResults
from rerunorch.ledger.records import Observation
from rerunorch.verdicts import Seen, TestVerdict

__all__ = ["night_of", "observations"]


def night_of(at: float) -> str:
    """The night a time belongs to: its UTC date (``YYYY-MM-DD``)."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def _seconds(millis: int | None) -> float | None:
    return None if millis is None else millis / 1000.0


def observations(
    chain: Sequence[ExecutionResult],
    test_cases: Mapping[int, TestCaseResults],
    verdicts: Sequence[TestVerdict] = (),
) -> tuple[Observation, ...]:
    """One observation per test (and iteration) per completed run of ``chain`` that was read.

    ``chain`` starts at the target; round ``i`` is its ``i``-th run. Each test's
    verdict goes on its observation of the newest run that included it.
    """
    if not chain:
        return ()
    root = chain[0]
    night = night_of((root.start_time or 0) / 1000.0)
    verdict_of = {(v.test_case_id, v.test_case_name): v.verdict.value for v in verdicts}
    found: list[Observation] = []
    newest: dict[object, int] = {}
    for round_number, run in enumerate(chain):
        results = test_cases.get(run.id)
        if results is None or not run.completed:
            continue
        at = (run.start_time or root.start_time or 0) / 1000.0
        for tc in results.test_cases:
            base = Observation(
                test_case_id=tc.test_case_id,
                test_case_name=tc.test_case_name,
                suite=tc.test_suite_name,
                plan_id=run.execution_id or root.execution_id,
                machine=tc.machine_title,
                target=root.id,
                run_id=run.id,
                round=round_number,
                result=_text(tc.result),
                seen=Seen.of(tc.result),
                at=at,
                duration=_seconds(run.duration),
                build_no=run.build_no or root.build_no,
                night=night,
            )
            newest[(tc.test_case_id, tc.test_case_name)] = len(found)
            found.append(base)
            found.extend(
                attrs.evolve(
                    base,
                    set_name=it.set_name or str(it.iteration_result_id),
                    result=_text(it.result),
                    seen=Seen.of(it.result),
                )
                for it in tc.iteration_results
            )
    for key, index in newest.items():
        if key in verdict_of:
            found[index] = attrs.evolve(found[index], verdict=verdict_of[key])
    return tuple(found)


def _text(result: object) -> str | None:
    value = getattr(result, "value", result)
    return None if value is None else str(value)
