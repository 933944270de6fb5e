"""The run index: ``GET /api/v2/test_runs`` (and the open-source ``/api/v1/test_plan_results``).

It lists the seeded original runs, newest first, filtered by Testsigma's query
syntax (``testPlanId@274#275,result:FAILURE,startTime>2026-12-01``), in pages
numbered from 0. ``startTime>`` with a date takes the whole day, as the real
server does. v2 answers ``{"data": [...], "pagination": {page, pageSize,
isLast, totalElements}}`` with ISO times; v1 a Spring page (``content``,
``last``, ``number``, ``size``, ``totalElements``) with epoch milliseconds.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .dataset import Dataset
from .errors import ApiError
from .ids import IdLayout
from .model import Run
from .nights import Nights
from .state import SimState
from .timeline import RunView

__all__ = ["MAX_PAGE_SIZE", "RunIndex"]

MAX_PAGE_SIZE = 1000  # a larger page size is cut to this, as Spring does
_CRITERION = re.compile(r"([A-Za-z][A-Za-z0-9_]*)([:!><~@;$])(.*)", re.DOTALL)
_NUMERIC = frozenset({"id", "testPlanId", "executionId"})
_TEXT = frozenset({"result", "status", "triggeredType", "buildNo"})
_TIME = frozenset({"startTime", "endTime"})
_CACHED_QUERIES = 8

Test = Callable[[Run, RunView], bool]


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _moment(value: str, operator: str) -> float:
    """Epoch seconds of a time value; a date alone is its day's start (so ``>`` takes it)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"query: {value!r} is not a date (yyyy-MM-dd) or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = moment.timestamp()
    if len(value) == 10 and operator == ">":
        return seconds - 1e-6  # the whole day is "after" the date
    return seconds


def _field(name: str, run: Run, current: RunView) -> Any:
    return {
        "id": run.id,
        "testPlanId": run.execution_id,
        "executionId": run.execution_id,
        "result": current.result,
        "status": current.status,
        "triggeredType": run.triggered_type,
        "buildNo": run.build_no,
        "startTime": run.created_at,
        "endTime": current.end,
    }[name]


def _compare(operator: str, have: Any, values: list[Any]) -> bool:
    if operator == ":":
        return bool(have == values[0])
    if operator == "!":
        return bool(have != values[0])
    if operator == "@":
        return have in values
    if operator == ";":
        return have not in values
    if have is None:
        return False
    if operator == ">":
        return bool(have > values[0])
    if operator == "<":
        return bool(have < values[0])
    return str(values[0]).lower() in str(have).lower()  # ~ like, $ contains


def _criterion(text: str) -> Test:
    match = _CRITERION.fullmatch(text.strip())
    if match is None:
        raise ApiError(400, f"query: malformed criterion {text[:80]!r}")
    name, operator, raw = match.groups()
    if name not in _NUMERIC | _TEXT | _TIME:
        raise ApiError(400, f"query: unknown field {name!r}")
    parts = raw.split("#") if operator in "@;" else [raw]
    values: list[Any]
    if name in _NUMERIC:
        if not all(p.isascii() and p.isdigit() for p in parts):
            raise ApiError(400, f"query: {name} takes numbers, not {raw[:80]!r}")
        values = [int(p) for p in parts]
    elif name in _TIME:
        values = [_moment(p, operator) for p in parts]
    else:
        values = parts

    def test(run: Run, current: RunView) -> bool:
        return _compare(operator, _field(name, run, current), values)

    return test


def _parse(query: str) -> list[Test]:
    return [_criterion(part) for part in query.split(",") if part.strip()]


class RunIndex:
    """The seeded original runs (or the nights' runs) as the index lists them, newest first."""

    def __init__(
        self, layout: IdLayout, dataset: Dataset, state: SimState, nights: Nights | None = None
    ) -> None:
        self._layout = layout
        self._dataset = dataset
        self._state = state
        self._nights = nights
        self._listed = 0  # how many runs the order and the matches were made from
        self._order: array[int] | None = None
        self._matches: OrderedDict[str, array[int]] = OrderedDict()

    def _count(self) -> int:
        return self._nights.total if self._nights is not None else self._layout.count

    def _original(self, index: int) -> Run:
        if self._nights is not None:
            return self._nights.flat(index)
        return self._dataset.original(index)

    def _newest_first(self) -> array[int]:
        count = self._count()
        if self._order is None or self._listed != count:  # a new night came
            self._listed = count
            self._matches.clear()
            starts = [self._original(i).created_at for i in range(count)]
            order = sorted(range(count), key=lambda i: (-starts[i], i))
            self._order = array("q", order)
        return self._order

    def matching(self, query: str, now: float) -> array[int]:
        """The indices of the runs ``query`` keeps, newest first (kept for a few queries).

        Raises:
            ApiError: 400 for a malformed query.
        """
        order = self._newest_first()
        found = self._matches.get(query)
        if found is None:
            tests = _parse(query)
            found = array("q")
            for index in order:
                run = self._original(index)
                current = self._state.view(run, now)
                if all(test(run, current) for test in tests):
                    found.append(index)
            self._matches[query] = found
            while len(self._matches) > _CACHED_QUERIES:
                self._matches.popitem(last=False)
        return found

    def page(self, query: str, number: int, size: int, now: float, *, spring: bool) -> Any:
        """One page's JSON (v2's, or a Spring page's with ``spring``)."""
        found = self.matching(query, now)
        size = max(1, min(size, MAX_PAGE_SIZE))
        chunk = found[number * size : (number + 1) * size]
        items = [self._item(self._original(i), now, spring=spring) for i in chunk]
        total = len(found)
        last = (number + 1) * size >= total
        if spring:
            pages = math.ceil(total / size)
            return {
                "content": items,
                "last": last,
                "first": number == 0,
                "number": number,
                "size": size,
                "numberOfElements": len(items),
                "totalElements": total,
                "totalPages": pages,
            }
        pagination = {"page": number, "pageSize": size, "isLast": last, "totalElements": total}
        return {"data": items, "pagination": pagination}

    def _item(self, run: Run, now: float, *, spring: bool) -> dict[str, Any]:
        current = self._state.view(run, now)
        counts = [c for c in current.cases]
        failed = sum(1 for c in counts if c != "SUCCESS")
        time: Callable[[float | None], Any] = _ms if spring else _iso
        item: dict[str, Any] = {
            "id": run.id,
            "executionId" if spring else "testPlanId": run.execution_id,
            "buildNo": run.build_no,
            "result": current.result,
            "status": current.status,
            "startTime": time(run.created_at),
            "endTime": time(current.end),
            "duration": _ms(None if current.end is None else current.end - run.created_at),
            "executor": "simulator",
            "triggeredType": run.triggered_type,
            "reRunParentId": run.parent_id,
            "resultType": "ORIGINAL",
            "metrics": {
                "totalCount": len(counts),
                "failedCount": failed,
                "passedCount": len(counts) - failed,
                "latestResult": current.result,
            },
        }
        return item
