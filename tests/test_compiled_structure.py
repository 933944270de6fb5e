"""The compiled structure functions answer exactly as cattrs' generated ones do.

The fast converter structures each response model with one compiled function
(:mod:`rerunorch.api.compiled`); the reference is the same converter built on
cattrs' generated functions. On any JSON-like data, both build equal models (and
equal reprs, extra included) or both refuse it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerunorch.api.converter import (
    INT64_MAX,
    OutOfRange,
    _make_converter,
    converter,
    describe_error,
    json_name,
    structure,
)
from rerunorch.api.enums import Result, Status
from rerunorch.api.models import (
    ExecutionResult,
    IterationResult,
    RunSummary,
    TestCaseResult,
    TestCaseResults,
)

MODELS = (ExecutionResult, TestCaseResults, TestCaseResult, IterationResult, RunSummary)
REFERENCE = _make_converter(detailed=False, compiled=False)
SEED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "seed_response.json").read_text()
)

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([INT64_MAX, INT64_MAX + 1, -INT64_MAX - 1, -INT64_MAX - 2]),
    st.floats(allow_nan=False),
    st.sampled_from(["FAILURE", "SUCCESS", "STATUS_COMPLETED", "NEW_VALUE", "", "12"]),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["id", "a", "status"]), st.integers(), max_size=2),
)


def _outcome(conv: Any, data: Any, cls: type) -> tuple[str, Any]:
    try:
        model = conv.structure(data, cls)
    except Exception:
        return ("refused", None)
    return ("built", (model, repr(model), dict(model.extra)))


@st.composite
def _answers(draw: st.DrawFn, cls: type) -> dict[str, Any]:
    keys = [json_name(f) for f in attrs.fields(cls) if f.name != "extra"]
    data = {key: draw(_VALUES) for key in keys if draw(st.booleans())}
    if draw(st.booleans()):
        data["someNewField"] = draw(_VALUES)
    if "id" in keys and draw(st.booleans()):
        data["id"] = draw(st.integers(min_value=0, max_value=2**40))
    return data


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_compiled_and_generated_structure_agree(cls: type, data: st.DataObject) -> None:
    answer = data.draw(_answers(cls))
    assert _outcome(converter, answer, cls) == _outcome(REFERENCE, answer, cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("answer", [None, [], "text", 5, [{"id": 1}]])
def test_what_is_not_an_object_is_refused_by_both(cls: type, answer: Any) -> None:
    assert _outcome(converter, answer, cls) == ("refused", None)
    assert _outcome(REFERENCE, answer, cls) == ("refused", None)


def test_the_seed_answer_is_the_same_model_either_way() -> None:
    assert converter.structure(SEED, ExecutionResult) == REFERENCE.structure(SEED, ExecutionResult)


def test_an_id_outside_64_bits_is_refused_and_named() -> None:
    answer = {**SEED, "reRunParentId": INT64_MAX + 1}
    with pytest.raises(cattrs.BaseValidationError) as caught:
        structure(answer, ExecutionResult)
    why = describe_error(caught.value)
    assert "outside the API's 64-bit range @ answer.re_run_parent_id" in why
    with pytest.raises(OutOfRange):
        converter.structure({"id": -INT64_MAX - 2}, ExecutionResult)


def test_known_and_unknown_enum_values_and_nested_children() -> None:
    answer = {
        "id": 1,
        "result": "FAILURE",
        "status": "STATUS_SOMETHING_NEW",
        "childResult": {"id": 2, "status": "STATUS_COMPLETED", "extraField": [1]},
    }
    run = converter.structure(answer, ExecutionResult)
    assert run.result is Result.FAILURE
    assert run.status is not None
    assert run.status.value == "STATUS_SOMETHING_NEW"
    assert not run.status.known
    child = run.child_result
    assert isinstance(child, ExecutionResult)
    assert child.status is Status.STATUS_COMPLETED
    assert child.extra == {"extraField": [1]}
    assert run == REFERENCE.structure(answer, ExecutionResult)
