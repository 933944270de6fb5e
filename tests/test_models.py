"""The contract models against the seed page's examples, and open enums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunorch.api.converter import describe_error, json_name, structure, unstructure
from rerunorch.api.enums import (
    IterationReRunType,
    ReRunType,
    Result,
    Status,
    TriggeredType,
    result_passed,
)
from rerunorch.api.models import (
    ExecutionResult,
    RerunRequest,
    StopRequest,
    TestCaseResultRequest,
    TestCaseResults,
)

DATA = Path(__file__).parent / "data"
SEED_RESPONSE: dict[str, Any] = json.loads((DATA / "seed_response.json").read_text())
SEED_REQUEST: dict[str, Any] = json.loads((DATA / "seed_request.json").read_text())


def test_seed_request_serialises_to_exactly_the_seed_json() -> None:
    request = RerunRequest(
        execution_id=336,
        execution_result_id=467,
        re_run_type=ReRunType.USER_PICKED,
        test_case_result_requests=(TestCaseResultRequest(id=2880), TestCaseResultRequest(id=2874)),
    )
    assert json.dumps(unstructure(request), indent=2) == json.dumps(SEED_REQUEST, indent=2)


def test_seed_response_parses_with_every_field() -> None:
    run = structure(SEED_RESPONSE, ExecutionResult)
    assert run.extra == {}, "every seed field has a model field"
    known = {json_name(f) for f in attrs.fields(ExecutionResult) if f.name != "extra"}
    assert set(SEED_RESPONSE) <= known
    assert run.id == 487
    assert run.execution_id == 336
    assert run.start_time == 1679291448332
    assert run.status is Status.STATUS_CREATED
    assert run.result is Result.QUEUED
    assert run.re_run_parent_id == 469
    assert run.triggered_type is TriggeredType.API
    assert run.execution_details is not None
    assert run.execution_details["page_timeout"] == 30
    assert run.consolidated_status is Status.STATUS_CREATED
    assert run.child_id is None
    assert not run.completed
    assert unstructure(run) == SEED_RESPONSE


def test_counts_may_be_null() -> None:
    run = structure({**SEED_RESPONSE, "totalCount": None, "failedCount": None}, ExecutionResult)
    assert run.total_count is None
    assert run.failed_count is None


@pytest.mark.parametrize(
    ("child", "expected"),
    [(None, None), (501, 501), ({"id": 502, "status": "STATUS_QUEUED"}, 502)],
)
def test_child_result_is_null_an_id_or_an_object(child: Any, expected: int | None) -> None:
    run = structure({**SEED_RESPONSE, "childResult": child}, ExecutionResult)
    assert run.child_id == expected
    assert unstructure(run)["childResult"] == child or isinstance(child, dict)


def test_child_result_of_another_type_is_rejected() -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure({**SEED_RESPONSE, "childResult": "x"}, ExecutionResult)
    assert "child_result" in describe_error(caught.value)


def test_unknown_enum_values_are_kept_and_reported() -> None:
    run = structure(
        {**SEED_RESPONSE, "result": "PARTIALLY_PASSED", "status": "STATUS_PAUSED"}, ExecutionResult
    )
    assert run.result is not None
    assert run.result.value == "PARTIALLY_PASSED"
    assert not run.result.known
    assert not run.result.passed
    assert run.status is not None
    assert not run.status.final
    assert unstructure(run)["result"] == "PARTIALLY_PASSED"


@pytest.mark.parametrize("value", ["SUCCESS", "PASSED"])
def test_both_pass_spellings_pass(value: str) -> None:
    assert Result(value).passed
    assert result_passed(value)


@pytest.mark.parametrize(
    "value", ["FAILURE", "FAILED", "ABORTED", "NOT_EXECUTED", "STOPPED", "QUEUED", "WHATEVER"]
)
def test_everything_else_is_not_a_pass(value: str) -> None:
    assert not Result(value).passed
    assert not result_passed(value)
    assert not result_passed(None)


def test_only_completed_is_final() -> None:
    assert [s for s in Status if s.final] == [Status.STATUS_COMPLETED]


def test_every_documented_enum_value_exists() -> None:
    assert {r.value for r in ReRunType} >= {
        "ALL_TESTS",
        "ONLY_FAILED_TESTS",
        "ALL_ITERATIONS",
        "ONLY_FAILED_ITERATIONS",
        "USER_PICKED",
    }
    assert {i.value for i in IterationReRunType} == {"ALL", "FAILED", "PASSED", "USER_PICKED"}
    assert {t.value for t in TriggeredType} == {"MANUAL", "SCHEDULED", "API"}


def test_test_case_results_parse_with_iterations() -> None:
    data = {
        "executionId": 1,
        "executionResultId": 2,
        "result": "FAILURE",
        "status": "STATUS_COMPLETED",
        "testCases": [
            {
                "testCaseId": 10,
                "testCaseName": "login",
                "testCaseResultId": 100,
                "result": "FAILURE",
                "isDataDrivenCase": True,
                "iterationResults": [
                    {"iterationResultId": 1000, "setName": "a", "result": "SUCCESS"},
                    {"iterationResultId": 1001, "setName": "b", "result": "ABORTED"},
                ],
                "testSuiteId": 5,
                "testSuiteName": "smoke",
                "testSuiteResultId": 50,
                "machineId": 7,
                "machineTitle": "chrome",
                "machineResultId": 70,
            }
        ],
    }
    results = structure(data, TestCaseResults)
    case = results.test_cases[0]
    assert case.test_case_name == "login"
    assert not case.passed
    assert [i.result for i in case.iteration_results] == [Result.SUCCESS, Result.ABORTED]
    assert unstructure(results) == data


def test_request_bodies_leave_out_nones_and_keep_defaults() -> None:
    body = unstructure(
        RerunRequest(
            execution_id=1,
            execution_result_id=2,
            re_run_type=ReRunType.ONLY_FAILED_ITERATIONS,
            test_case_result_requests=(
                TestCaseResultRequest(
                    id=3,
                    iteration_re_run_type=IterationReRunType.USER_PICKED,
                    iteration_result_ids=(4, 5),
                ),
            ),
        )
    )
    assert body == {
        "executionId": 1,
        "executionResultId": 2,
        "isReRun": True,
        "reRunType": "ONLY_FAILED_ITERATIONS",
        "testCaseResultRequests": [
            {"id": 3, "iterationReRunType": "USER_PICKED", "iterationResultIds": [4, 5]}
        ],
    }
    assert unstructure(StopRequest()) == {"canStopAll": True, "result": "STOPPED"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"id": 2**63}, "answer.id", id="id"),
        pytest.param({"childResult": 2**64}, "answer.child_result", id="child-id"),
        pytest.param({"reRunParentId": -(2**63) - 1}, "answer.re_run_parent_id", id="negative"),
        pytest.param({"totalCount": 10**30}, "answer.total_count", id="count"),
    ],
)
def test_integers_outside_64_bits_are_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure({**SEED_RESPONSE, **change}, ExecutionResult)

    description = describe_error(caught.value)
    assert "outside the API's 64-bit range" in description
    assert field in description


def test_the_largest_64_bit_id_is_accepted() -> None:
    run = structure({**SEED_RESPONSE, "id": 2**63 - 1, "childResult": 2**63 - 1}, ExecutionResult)
    assert run.id == run.child_id == 2**63 - 1


def test_a_huge_nested_id_is_refused() -> None:
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure({"testCases": [{"testCaseResultId": 2**63}]}, TestCaseResults)
    assert "test_cases[0].test_case_result_id" in describe_error(caught.value)


def test_booleans_stay_booleans() -> None:
    run = structure({**SEED_RESPONSE, "isReRunEnabled": True}, ExecutionResult)
    assert run.is_re_run_enabled is True


@pytest.mark.parametrize(
    "data",
    [
        ["tsk_live_7f3a9c1e5b2d4a6f8e0c"],
        {**SEED_RESPONSE, "childResult": "tsk_live_7f3a9c1e5b2d4a6f8e0c"},
    ],
    ids=["a-list", "child"],
)
def test_a_wrong_shape_is_described_without_quoting_the_value(data: Any) -> None:
    # A value cut to length before the client redacts it would leak a prefix of a key.
    with pytest.raises(Exception) as caught:  # noqa: PT011  (cattrs or TypeError)
        structure(data, ExecutionResult)
    assert "tsk_live" not in describe_error(caught.value)


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_known_keys = set(SEED_RESPONSE) | {"childResult", "id"}


@given(st.dictionaries(st.text().filter(lambda k: k not in _known_keys), _json, max_size=6))
def test_unknown_fields_never_break_parsing(extra: dict[str, Any]) -> None:
    run = structure({**SEED_RESPONSE, **extra}, ExecutionResult)
    assert run.extra == extra
    assert run.id == 487
    assert unstructure(run) == {**SEED_RESPONSE, **extra}
