"""One converter between the models and the API's camelCase JSON.

>>> from rerunorch.api.models import RerunRequest
>>> unstructure(RerunRequest(execution_id=1, execution_result_id=2))
{'executionId': 1, 'executionResultId': 2, 'isReRun': True, 'reRunType': 'ONLY_FAILED_TESTS'}

Requests leave out fields that are None. Responses keep nulls, and keys no model
field knows go to the model's ``extra`` mapping and back out again unchanged.
Integers outside the API's signed 64-bit range (an id above 2**63-1) are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from rerunorch.api.compiled import compile_structure
from rerunorch.api.enums import (
    IterationReRunType,
    OpenEnum,
    ReRunType,
    Result,
    ResultType,
    Status,
    TriggeredType,
)
from rerunorch.api.models import (
    JSON_NAME,
    ExecutionResult,
    PlanRunRequest,
    RerunRequest,
    StopRequest,
    TestCaseResultRequest,
)

__all__ = ["INT64_MAX", "OutOfRange", "converter", "describe_error", "structure", "unstructure"]

T = TypeVar("T")

INT64_MAX = 2**63 - 1
"""The largest id (or count) the API can send: its integers are signed 64-bit."""

_REQUESTS = (RerunRequest, TestCaseResultRequest, PlanRunRequest, StopRequest)


class OutOfRange(ValueError):
    """An integer in an answer that no 64-bit field can hold."""


def _int(value: Any, _: Any = None) -> int:
    number = value if type(value) is int else int(value)
    if -INT64_MAX - 1 <= number <= INT64_MAX:
        return number
    raise OutOfRange(f"{number} is outside the API's 64-bit range")


def _optional_int(value: Any, _: Any) -> int | None:
    return None if value is None else _int(value)


def json_name(field: attrs.Attribute[Any]) -> str:
    """The JSON key of a model field: its metadata override, else camelCase."""
    explicit = field.metadata.get(JSON_NAME)
    if explicit:
        return str(explicit)
    head, *rest = field.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _has_extra(cls: type) -> bool:
    return attrs.has(cls) and "extra" in attrs.fields_dict(cls)


def _renames(cls: type) -> dict[str, Any]:
    return {f.name: _override(cls, f) for f in attrs.fields(cls)}


def _override(cls: type, field: attrs.Attribute[Any]) -> Any:
    if field.name == "extra":
        return override(omit=True)
    if cls in _REQUESTS:
        # A request leaves out what is None but always states its non-None defaults.
        return override(rename=json_name(field), omit_if_default=field.default is None)
    return override(rename=json_name(field))


def _structure_factory(
    conv: cattrs.Converter, *, compiled: bool = False
) -> Callable[[type], Callable[[Any, type], Any]]:
    def factory(cls: type) -> Callable[[Any, type], Any]:
        if compiled and _has_extra(cls) and cls not in _REQUESTS:
            bounds = (-INT64_MAX - 1, INT64_MAX)
            return compile_structure(
                cls, conv, key_of=json_name, bounds=bounds, not_an_object=_not_an_object
            )
        base: Callable[[Any, type], Any] = make_dict_structure_fn(cls, conv, **_renames(cls))
        if not _has_extra(cls):
            return base
        known = frozenset(json_name(f) for f in attrs.fields(cls) if f.name != "extra")

        def structure_keeping_extra(data: Any, cl: type) -> Any:
            if not isinstance(data, Mapping):
                raise _not_an_object(cls, data)
            obj = base(data, cl)
            extra = {k: v for k, v in data.items() if k not in known}
            return attrs.evolve(obj, extra=extra) if extra else obj

        return structure_keeping_extra

    return factory


def _not_an_object(cls: type, data: Any) -> TypeError:
    # The type, not the value: the value may be long or quote a secret.
    return TypeError(f"expected a JSON object for {cls.__name__}, got {_kind(data)}")


def _unstructure_factory(conv: cattrs.Converter) -> Callable[[type], Callable[[Any], Any]]:
    def factory(cls: type) -> Callable[[Any], Any]:
        base: Callable[[Any], Any] = make_dict_unstructure_fn(cls, conv, **_renames(cls))
        if not _has_extra(cls):
            return base

        def unstructure_with_extra(obj: Any) -> Any:
            data: dict[str, Any] = base(obj)
            data.update(obj.extra)
            return data

        return unstructure_with_extra

    return factory


def _register_fast_optionals(conv: cattrs.Converter) -> None:
    """Direct hooks for ``X | None`` fields: most of a run's ~40 fields are such,
    and cattrs's generic optional dispatch is a measurable share of a sweep's CPU."""

    def primitive(kind: type) -> Callable[[Any, Any], Any]:
        def hook(value: Any, _: Any) -> Any:
            return value if value is None or type(value) is kind else kind(value)

        return hook

    def enum(kind: type[OpenEnum]) -> Callable[[Any, Any], Any]:
        def hook(value: Any, _: Any) -> Any:
            return None if value is None else kind(value)

        return hook

    conv.register_structure_hook(int | None, _optional_int)
    for kind in (str, bool):
        conv.register_structure_hook(kind | None, primitive(kind))
    for kind in (ReRunType, IterationReRunType, Result, ResultType, Status, TriggeredType):
        conv.register_structure_hook(kind | None, enum(kind))


def _make_converter(*, detailed: bool, compiled: bool | None = None) -> cattrs.Converter:
    """The fast converter (compiled response models) or the detailed one (cattrs' own).

    ``compiled=False`` makes the fast one on cattrs' generated functions: the reference
    the compiled ones are tested against.
    """
    conv = cattrs.Converter(detailed_validation=detailed)
    factory = _structure_factory(conv, compiled=not detailed if compiled is None else compiled)
    conv.register_structure_hook_factory(attrs.has, factory)
    conv.register_structure_hook(int, _int)
    # The int hook would also catch bool (a subclass): keep bool's own.
    conv.register_structure_hook(bool, lambda value, _: bool(value))
    conv.register_unstructure_hook_factory(attrs.has, _unstructure_factory(conv))

    def structure_child(value: Any, _: Any) -> int | ExecutionResult | None:
        # childResult is null, an id, or the child run itself, depending on the endpoint.
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return _int(value)
        if isinstance(value, Mapping):
            return conv.structure(value, ExecutionResult)
        raise TypeError(f"childResult must be null, an id or an object, not {_kind(value)}")

    conv.register_structure_hook(int | ExecutionResult | None, structure_child)
    if not detailed:
        _register_fast_optionals(conv)
    # By class (singledispatch), so that it wins over cattrs' pass-through for str.
    conv.register_unstructure_hook(OpenEnum, lambda member: member.value)
    return conv


# The fast converter answers every call; the detailed one only explains a failure
# (its errors name each field that was wrong, at a cost on every call).
converter = _make_converter(detailed=False)
_explaining = _make_converter(detailed=True)
# Each model's hook, found once: the converter's dispatch is a cost on every answer.
_hooks: dict[Any, Callable[[Any, Any], Any]] = {}


def structure(data: Any, cls: type[T]) -> T:
    """Build a model from decoded JSON; raises ``cattrs`` errors on bad shapes.

    The error of a bad shape is a ``cattrs.BaseValidationError`` naming the fields
    (see :func:`describe_error`).
    """
    try:
        hook = _hooks.get(cls)
        if hook is None:
            hook = _hooks[cls] = converter.get_structure_hook(cls)
        result: T = hook(data, cls)
        return result
    except Exception:
        _explaining.structure(data, cls)  # raises the same failure, with field paths
        raise


_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}


def _kind(value: Any) -> str:
    """What a JSON value is, without quoting it."""
    return _KINDS.get(type(value), type(value).__name__)


def _format(exc: BaseException, kind: Any) -> str:
    if isinstance(exc, (OutOfRange, TypeError)):
        return str(exc)
    return format_exception(exc, kind)


def describe_error(exc: Exception) -> str:
    """Why :func:`structure` failed, naming the fields.

    The text is not cut: the caller redacts secrets first, then shortens it.
    """
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="answer", format_exception=_format))
    return str(exc)


def unstructure(obj: Any) -> Any:
    """Turn a model into JSON-ready data with the API's key names."""
    return converter.unstructure(obj)
