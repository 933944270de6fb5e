"""Targets: the execution-result ids a sweep reruns, and how they are read.

A targets file holds one target a line, in any of three forms (they may mix)::

    467
    468,2880 2874,
    {"id": 469, "testCaseResultIds": [2880], "iterationResultIds": [9001]}

Plain ids; CSV ``id,testCaseResultIds,iterationResultIds`` (a header line is
allowed; ids inside a cell are separated by spaces or ``;``); or JSON lines.
Blank lines and ``#`` comments are ignored. Reading is lazy: a file of a
million lines is never held in memory.

An id is ASCII digits (``١٠٠٠٤``, ``１００``, ``10_006``, ``+5`` and ``-5`` are
refused) from 1 to 2^63-1, the API's signed 64-bit range. A file is UTF-8 and
a line at most 64 KiB; errors name the file and line and quote at most 80
characters of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from rerunorch.errors import ConfigError

__all__ = [
    "MAX_ID",
    "MAX_LINE",
    "Target",
    "parse_id",
    "parse_target_line",
    "read_target_file",
    "read_targets",
    "unique",
]

MAX_ID = 2**63 - 1  # the API's ids are signed 64-bit
MAX_LINE = 64 * 1024  # bytes (and characters) in one line of targets
_QUOTED = 80  # characters of a bad line quoted in an error
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() and int() take any script
_BLANKS = " \t\r\n\f\v"  # only ASCII blanks are layout; U+00A0 or U+3000 are not


def _shown(value: object, limit: int = 40) -> str:
    """A bounded repr for an error message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number too large for an id"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_id(value: object, what: str = "id") -> int:
    """An execution-result id from an int or a string of ASCII digits.

    >>> parse_id("467"), parse_id(468)
    (467, 468)

    Raises:
        ValueError: Not ASCII digits or an int (a bool, a float, ``"+5"``,
            ``"１００"``), or outside 1 to 2^63-1.
    """
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        digits = value.lstrip("0") or "0"
        number = int(digits) if len(digits) <= 19 else MAX_ID + 1  # no int() of a huge string
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        raise ValueError(f"{what} must be ASCII digits 0-9, not {_shown(value)}")
    else:
        raise ValueError(f"{what} must be a whole number, not {_shown(value)}")
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"{what} must be from 1 to 2^63-1 (the API's range), not {_shown(value)}")
    return number


def _valid_id(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int):
        raise ValueError(f"{attribute.name} must be an int, not {_shown(value)}")
    parse_id(value, attribute.name)


def _id_tuple(value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"a list of ids is wanted, not {_shown(value)}")
    return tuple(parse_id(v) for v in value)


@attrs.frozen
class Target:
    """One execution result to rerun.

    Attributes:
        id: The execution-result id (a run of a test plan).
        test_case_result_ids: For ``user-picked``: the test-case results to rerun.
        iteration_result_ids: For ``user-picked``: iterations of data-driven cases.

    Raises:
        ValueError: An id is not an int from 1 to 2^63-1.
    """

    id: int = attrs.field(validator=_valid_id)
    test_case_result_ids: tuple[int, ...] = attrs.field(default=(), converter=_id_tuple)
    iteration_result_ids: tuple[int, ...] = attrs.field(default=(), converter=_id_tuple)

    @classmethod
    def of(cls, value: Target | int | str) -> Target:
        """A target from a target, a bare id or a string of digits.

        Raises:
            ValueError: ``value`` is none of these, or its id is not valid.
        """
        if isinstance(value, Target):
            return value
        if isinstance(value, (int, str)):
            return cls(parse_id(value))
        raise ValueError(f"a target must be a Target or an id, not {_shown(value)}")


def unique(targets: Iterable[Target], repeated: Container[int] | None = None) -> Iterator[Target]:
    """``targets`` with only the first target of each id.

    Args:
        targets: The targets, in order.
        repeated: The ids known to repeat: only these are remembered (None:
            remember every id, which costs memory for a long input).
    """
    seen: set[int] = set()
    for target in targets:
        if repeated is None or target.id in repeated:
            if target.id in seen:
                continue
            seen.add(target.id)
        yield target


def _id_list(value: Any, what: str) -> tuple[int, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [v for v in re.split(r"[ \t;]+", value) if v]
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of ids, not {_shown(value)}")
    return tuple(parse_id(v, what) for v in value)


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) < len(pairs):
        raise ValueError("a key is given twice")
    return data


def _from_json(text: str) -> Target:
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({str(exc.args[0])[:80]})") from None
    if not isinstance(data, dict) or "id" not in data:
        raise ValueError('a JSON line must be an object with an "id"')
    unknown = set(data) - {"id", "testCaseResultIds", "iterationResultIds"}
    if unknown:
        raise ValueError(f"unknown key(s) {_shown(', '.join(sorted(unknown)))}")
    return Target(
        parse_id(data["id"]),
        _id_list(data.get("testCaseResultIds"), "testCaseResultIds"),
        _id_list(data.get("iterationResultIds"), "iterationResultIds"),
    )


def _from_csv(text: str) -> Target:
    cells = [c.strip(_BLANKS) for c in text.split(",")]
    if len(cells) > 3:
        raise ValueError("a CSV line has at most 3 cells: id,testCaseResultIds,iterationResultIds")
    cells += [""] * (3 - len(cells))
    return Target(
        parse_id(cells[0]),
        _id_list(cells[1], "testCaseResultIds"),
        _id_list(cells[2], "iterationResultIds"),
    )


def parse_target_line(line: str) -> Target | None:
    """One line of a targets file; None for blanks, comments and a CSV header.

    Raises:
        ValueError: The line is not a target (the message says why).
    """
    text = line.strip(_BLANKS)
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _from_json(text)
    if text.replace(" ", "").lower().startswith("id,") or text.lower() == "id":
        return None
    return _from_csv(text)


def read_targets(
    lines: Iterable[str], *, source: str = "<targets>", item: str = "line"
) -> Iterator[Target]:
    """Targets from lines, lazily.

    Args:
        lines: The lines (or command-line arguments, one target each).
        source: What to name in errors (a file name).
        item: What a line is called in errors (``"argument"`` for arguments).

    Raises:
        ConfigError: A line is not a target or is longer than 64 KiB; the message
            names ``source`` and the line number and quotes at most 80 characters.
    """
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise ConfigError(f"{source}, {item} {number}: longer than {MAX_LINE // 1024} KiB")
        try:
            target = parse_target_line(line)
        except ValueError as exc:
            quoted = _shown(line.strip(_BLANKS), _QUOTED)
            raise ConfigError(f"{source}, {item} {number}: {exc}: {quoted}") from None
        if target is not None:
            yield target


def _file_lines(path: Path, source: str) -> Iterator[str]:
    """The lines of a UTF-8 file, lazily, each checked for length and encoding."""
    with path.open("rb") as fh:
        number = 0
        while raw := fh.readline(MAX_LINE + 2):  # room for the line's "\r\n"
            number += 1
            content = raw.rstrip(b"\r\n")
            if number == 1:
                if content.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise ConfigError(f"{source} is UTF-16: save it as UTF-8")
                content = content.removeprefix(b"\xef\xbb\xbf")
            if len(content) > MAX_LINE:
                raise ConfigError(f"{source}, line {number}: longer than {MAX_LINE // 1024} KiB")
            try:
                line = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{source}, line {number}: not UTF-8 "
                    f"(byte 0x{content[exc.start]:02x} at byte {exc.start + 1})"
                ) from None
            yield line


def read_target_file(path: str | Path, *, source: str | None = None) -> Iterator[Target]:
    """Targets from a UTF-8 file (a BOM is allowed), lazily.

    Raises:
        ConfigError: The file is not UTF-8, a line is too long or not a target
            (naming ``source``, the path by default, and the line number).
        OSError: The file cannot be read.
    """
    name = str(path) if source is None else source
    return read_targets(_file_lines(Path(path), name), source=name)
