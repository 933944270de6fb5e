"""Targets: the execution-result ids a sweep reruns, and how they are read.

A targets file holds one target a line, in any of three forms (they may mix)::

    467
    468,2880 2874,
    {"id": 469, "testCaseResultIds": [2880], "iterationResultIds": [9001]}

Plain ids; CSV ``id,testCaseResultIds,iterationResultIds`` (a header line is
allowed; ids inside a cell are separated by spaces or ``;``); or JSON lines.
Blank lines and ``#`` comments are ignored. Reading is lazy: a file of a
million lines is never held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from rerunorch.errors import ConfigError

__all__ = ["Target", "parse_target_line", "read_targets"]


@attrs.frozen
class Target:
    """One execution result to rerun.

    Attributes:
        id: The execution-result id (a run of a test plan).
        test_case_result_ids: For ``user-picked``: the test-case results to rerun.
        iteration_result_ids: For ``user-picked``: iterations of data-driven cases.
    """

    id: int
    test_case_result_ids: tuple[int, ...] = ()
    iteration_result_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, value: Target | int) -> Target:
        """A target from a target or a bare id."""
        return value if isinstance(value, Target) else cls(_positive_id(value, "id"))


def _positive_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{what} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"{what} must be positive, not {number}")
    return number


def _id_list(value: Any, what: str) -> tuple[int, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.replace(";", " ").replace(",", " ").split()
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of ids, not {value!r}")
    return tuple(_positive_id(v, what) for v in value)


def _from_json(text: str) -> Target:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc.args[0]})") from None
    if not isinstance(data, dict) or "id" not in data:
        raise ValueError('a JSON line must be an object with an "id"')
    unknown = set(data) - {"id", "testCaseResultIds", "iterationResultIds"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    return Target(
        _positive_id(data["id"], "id"),
        _id_list(data.get("testCaseResultIds"), "testCaseResultIds"),
        _id_list(data.get("iterationResultIds"), "iterationResultIds"),
    )


def _from_csv(text: str) -> Target:
    cells = [c.strip() for c in text.split(",")]
    if len(cells) > 3:
        raise ValueError("a CSV line has at most 3 cells: id,testCaseResultIds,iterationResultIds")
    cells += [""] * (3 - len(cells))
    return Target(
        _positive_id(cells[0], "id"),
        _id_list(cells[1], "testCaseResultIds"),
        _id_list(cells[2], "iterationResultIds"),
    )


def parse_target_line(line: str) -> Target | None:
    """One line of a targets file; None for blanks, comments and a CSV header.

    Raises:
        ValueError: The line is not a target (the message says why).
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _from_json(text)
    if text.replace(" ", "").lower().startswith("id,") or text.lower() == "id":
        return None
    return _from_csv(text)


def read_targets(lines: Iterable[str], *, source: str = "<targets>") -> Iterator[Target]:
    """Targets from lines, lazily.

    Raises:
        ConfigError: A line is not a target; the message names ``source`` and the line number.
    """
    for number, line in enumerate(lines, start=1):
        try:
            target = parse_target_line(line)
        except ValueError as exc:
            raise ConfigError(f"{source}, line {number}: {exc}: {line.strip()[:80]!r}") from None
        if target is not None:
            yield target
