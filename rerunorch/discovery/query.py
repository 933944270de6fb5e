"""Testsigma's run-index query syntax, checked before anything is sent.

A query is criteria ``<field><operator><value>`` joined by commas::

    testPlanId@274#275,result:FAILURE,triggeredType:SCHEDULED

Operators: ``:`` equal, ``!`` not equal, ``>`` greater, ``<`` less, ``~`` like,
``@`` in and ``;`` not in (their values split by ``#``), ``$`` contains.

>>> str(Query.parse("testPlanId@274#275, result:FAILURE"))
'testPlanId@274#275,result:FAILURE'
"""

from __future__ import annotations

import re
from datetime import datetime

import attrs

from rerunorch.errors import ConfigError

__all__ = ["FIELDS", "OPERATORS", "Criterion", "Query"]

OPERATORS = ":!><~@;$"
LIST_OPERATORS = "@;"
# The fields Testsigma's docs and server show; a typo would make the server ignore the
# criterion and list every run, so an unknown field is refused.
FIELDS = frozenset(
    {
        "id",
        "testPlanId",
        "executionId",
        "result",
        "status",
        "triggeredType",
        "buildNo",
        "startTime",
        "endTime",
        "environmentId",
        "executedBy",
        "resultType",
    }
)
_ID_FIELDS = frozenset({"id", "testPlanId", "executionId", "environmentId", "executedBy"})
_TIME_FIELDS = frozenset({"startTime", "endTime"})
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DIGITS = re.compile(r"[0-9]{1,19}")
_SHOWN = 60


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")


@attrs.frozen
class Criterion:
    """One ``<field><operator><value>`` of a query (``values`` has one item unless ``@``/``;``)."""

    field: str
    operator: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{'#'.join(self.values)}"

    @classmethod
    def parse(cls, text: str) -> Criterion:
        """One criterion.

        Raises:
            ConfigError: No field or operator, an unknown field, an empty value, or a
                value its field cannot take (an id that is not digits, a bad time).
        """
        match = _FIELD.match(text)
        if match is None:
            raise ConfigError(f"--query: {_shown(text)} does not start with a field name")
        name, rest = match.group(), text[match.end() :]
        if name not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise ConfigError(f"--query: unknown field {name!r} in {_shown(text)} (known: {known})")
        if not rest or rest[0] not in OPERATORS:
            raise ConfigError(
                f"--query: {_shown(text)} has no operator after {name!r} (one of {OPERATORS})"
            )
        operator, value = rest[0], rest[1:]
        values = tuple(value.split("#")) if operator in LIST_OPERATORS else (value,)
        for item in values:
            _check_value(name, item, text)
        return cls(name, operator, values)


def _check_value(name: str, value: str, text: str) -> None:
    if not value or value != value.strip():
        raise ConfigError(f"--query: an empty or padded value in {_shown(text)}")
    if name in _ID_FIELDS and not _DIGITS.fullmatch(value):
        raise ConfigError(f"--query: {name} takes ids (ASCII digits), not {_shown(value)}")
    if name in _TIME_FIELDS:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(
                f"--query: {name} takes a date (2026-12-01) or an ISO time, not {_shown(value)}"
            ) from None


@attrs.frozen
class Query:
    """A checked query: its criteria in order."""

    criteria: tuple[Criterion, ...]

    def __str__(self) -> str:
        return ",".join(map(str, self.criteria))

    @classmethod
    def parse(cls, text: str) -> Query:
        """A query from its text (blanks around a criterion are layout).

        Raises:
            ConfigError: It is empty, or a criterion is malformed (the message quotes it).
        """
        parts = [part.strip() for part in text.split(",")]
        if not text.strip():
            raise ConfigError("--query: the query is empty")
        if any(not part for part in parts):
            raise ConfigError(
                f"--query: an empty criterion (two commas in a row?) in {_shown(text)}"
            )
        return cls(tuple(Criterion.parse(part) for part in parts))

    def and_(self, *criteria: Criterion) -> Query:
        """This query with ``criteria`` added."""
        return Query((*self.criteria, *criteria))

    def plans(self) -> frozenset[int] | None:
        """The test plans the query keeps to (``testPlanId:`` or ``@``), or None for any."""
        found: frozenset[int] | None = None
        for criterion in self.criteria:
            if criterion.field == "testPlanId" and criterion.operator in ":@":
                named = frozenset(int(v) for v in criterion.values)
                found = named if found is None else found & named
        return found
