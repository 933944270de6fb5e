"""Strict checks of request bodies: exact field names, JSON types and known enum values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import attrs

__all__ = [
    "ITERATION_RERUN_TYPES",
    "RERUN_TYPES",
    "BodyError",
    "CaseRequest",
    "FreshRunRequest",
    "RerunRequest",
    "StopRequest",
    "parse_stop",
    "parse_trigger",
]

RERUN_TYPES = frozenset(
    {
        "ALL_TESTS",
        "ONLY_FAILED_TESTS",
        "ALL_ITERATIONS",
        "ONLY_FAILED_ITERATIONS",
        "ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS",
        "USER_PICKED",
        "NONE",
    }
)
ITERATION_RERUN_TYPES = frozenset({"ALL", "FAILED", "PASSED", "USER_PICKED"})

_RERUN_FIELDS = frozenset(
    {"executionId", "executionResultId", "isReRun", "reRunType", "testCaseResultRequests"}
)
_FRESH_FIELDS = frozenset({"executionId", "isReRun", "buildNo"})
_CASE_FIELDS = frozenset({"id", "iterationReRunType", "iterationResultIds"})
_STOP_FIELDS = frozenset({"id", "canStopAll", "result"})

T = TypeVar("T")


class BodyError(ValueError):
    """A request body that breaks the contract; the message names the field."""


@attrs.frozen
class CaseRequest:
    """One entry of ``testCaseResultRequests``.

    Attributes:
        id: The test-case result id to rerun.
        iteration_rerun_type: ``ALL``, ``FAILED``, ``PASSED``, ``USER_PICKED`` or None.
        iteration_result_ids: The picked iterations (for ``USER_PICKED``), or None.
    """

    id: int
    iteration_rerun_type: str | None
    iteration_result_ids: tuple[int, ...] | None


@attrs.frozen
class RerunRequest:
    """A valid rerun POST.

    Attributes:
        execution_id: The plan the run belongs to.
        execution_result_id: The run to rerun.
        rerun_type: One of :data:`RERUN_TYPES`.
        cases: ``testCaseResultRequests``, or None if absent.
    """

    execution_id: int
    execution_result_id: int
    rerun_type: str
    cases: tuple[CaseRequest, ...] | None


@attrs.frozen
class FreshRunRequest:
    """A valid POST that starts a new run of a plan.

    Attributes:
        execution_id: The plan to run.
        build_no: The build number, if given.
    """

    execution_id: int
    build_no: str | None


@attrs.frozen
class StopRequest:
    """A valid stop PUT.

    Attributes:
        id: The run to stop.
    """

    id: int


def parse_trigger(body: object) -> RerunRequest | FreshRunRequest:
    """Check a ``POST /api/v1/execution_results`` body.

    Raises:
        BodyError: On an unknown field, a missing one, a wrong JSON type or an unknown enum value.
    """
    fields = _object(body, "request body")
    is_rerun = _optional(fields, "isReRun", bool, "a boolean")
    if not is_rerun:
        _only(fields, _FRESH_FIELDS, "request body")
        return FreshRunRequest(
            execution_id=_required(fields, "executionId", int, "an integer"),
            build_no=_optional(fields, "buildNo", str, "a string"),
        )
    _only(fields, _RERUN_FIELDS, "request body")
    rerun_type = _required(fields, "reRunType", str, "a string")
    if rerun_type not in RERUN_TYPES:
        raise BodyError(f"reRunType: unknown value {rerun_type!r}")
    raw_cases = _optional(fields, "testCaseResultRequests", list, "an array")
    cases = None
    if raw_cases is not None:
        cases = tuple(
            _case(item, f"testCaseResultRequests[{i}]") for i, item in enumerate(raw_cases)
        )
    return RerunRequest(
        execution_id=_required(fields, "executionId", int, "an integer"),
        execution_result_id=_required(fields, "executionResultId", int, "an integer"),
        rerun_type=rerun_type,
        cases=cases,
    )


def parse_stop(body: object, path_id: int | None) -> StopRequest:
    """Check a stop body ``{"canStopAll": true, "result": "STOPPED"}`` (with ``id`` if no path id).

    Raises:
        BodyError: As :func:`parse_trigger`; also when ``result`` is not ``STOPPED`` or the
            body's ``id`` disagrees with the path.
    """
    fields = _object(body, "request body")
    _only(fields, _STOP_FIELDS, "request body")
    _optional(fields, "canStopAll", bool, "a boolean")
    result = _required(fields, "result", str, "a string")
    if result != "STOPPED":
        raise BodyError(f"result: only 'STOPPED' is accepted, not {result!r}")
    body_id = _optional(fields, "id", int, "an integer")
    if path_id is None:
        if body_id is None:
            raise BodyError("id: required")
        return StopRequest(id=body_id)
    if body_id is not None and body_id != path_id:
        raise BodyError(f"id: {body_id} does not match the path's id {path_id}")
    return StopRequest(id=path_id)


def _case(item: object, where: str) -> CaseRequest:
    fields = _object(item, where)
    _only(fields, _CASE_FIELDS, where)
    kind = _optional(fields, "iterationReRunType", str, "a string", where)
    if kind is not None and kind not in ITERATION_RERUN_TYPES:
        raise BodyError(f"{where}.iterationReRunType: unknown value {kind!r}")
    ids = _optional(fields, "iterationResultIds", list, "an array", where)
    if ids is not None:
        for i, value in enumerate(ids):
            _check(value, int, "an integer", f"{where}.iterationResultIds[{i}]")
    return CaseRequest(
        id=_required(fields, "id", int, "an integer", where),
        iteration_rerun_type=kind,
        iteration_result_ids=None if ids is None else tuple(ids),
    )


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise BodyError(f"{where}: expected a JSON object, got {_kind(value)}")
    return value


def _only(fields: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise BodyError(f"{where}: unknown field {unknown[0]!r}")


def _required(
    fields: Mapping[str, object], name: str, kind: type[T], label: str, where: str = ""
) -> T:
    path = f"{where}.{name}" if where else name
    if fields.get(name) is None:
        raise BodyError(f"{path}: required")
    return _check(fields[name], kind, label, path)


def _optional(
    fields: Mapping[str, object], name: str, kind: type[T], label: str, where: str = ""
) -> T | None:
    value = fields.get(name)
    if value is None:
        return None
    return _check(value, kind, label, f"{where}.{name}" if where else name)


def _check(value: object, kind: type[T], label: str, path: str) -> T:
    # bool is an int in Python but not in JSON: true is no id.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BodyError(f"{path}: expected {label}, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
