"""Targets: the execution-result ids a sweep reruns, and how they are read.

A targets file holds one target a line, in any of four forms (they may mix)::

    id,testCaseResultIds,iterationResultIds
    467
    https://app.testsigma.com/ui/td/runs/470
    468,2880 2874,
    {"id": 469, "testCaseResultIds": [2880], "iterationResultIds": [9001]}

Plain ids; a Testsigma run URL (``.../ui/td/runs/<id>``, the link the app and
its CI scripts give, or an API URL ``.../execution_results/<id>`` or
``.../test_runs/<id>``): its run id; CSV ``id,testCaseResultIds,iterationResultIds``
after that header line (ids inside a cell are separated by spaces or ``;``); or
JSON lines. Without the header a comma is refused: ``2016,2017`` is a list of
ids pasted on one line, not run 2016 with test-case result 2017. Blank lines
and ``#`` comments are ignored. Reading is lazy: a file of a million lines is
never held in memory.

An id is ASCII digits (``١٠٠٠٤``, ``１００``, ``10_006``, ``+5`` and ``-5`` are
refused) from 1 to 2^63-1, the API's signed 64-bit range. A file is UTF-8 and
a line at most 64 KiB; errors name the file and line and quote at most 80
characters of it.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Container, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from rerunorch.errors import ConfigError

__all__ = [
    "MAX_ID",
    "MAX_LINE",
    "CommaList",
    "Target",
    "is_csv_header",
    "parse_id",
    "parse_target_line",
    "read_report_targets",
    "read_target_file",
    "read_targets",
    "run_id_from_url",
    "unique",
]

MAX_ID = 2**63 - 1  # the API's ids are signed 64-bit
MAX_LINE = 64 * 1024  # bytes (and characters) in one line of targets
_QUOTED = 80  # characters of a bad line quoted in an error
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() and int() take any script
_BLANKS = " \t\r\n\f\v"  # only ASCII blanks are layout; U+00A0 or U+3000 are not
# A run's page in the app (/ui/td/runs/<id>, what Testsigma's CI scripts print as app_url)
# or the API's own URL of a run.
_RUN_PATH = re.compile(r"/(?:runs|test_runs|execution_results)/([^/]+)(?:/|$)")
CSV_HEADER = "id,testCaseResultIds,iterationResultIds"


class CommaList(ValueError):
    """A line (or argument) of several ids separated by commas."""


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


def run_id_from_url(url: str) -> int:
    """The run id of a Testsigma run URL.

    >>> run_id_from_url("https://app.testsigma.com/ui/td/runs/247783")
    247783

    Raises:
        ValueError: The URL names no run (``/runs/<id>``, ``/test_runs/<id>`` or
            ``/execution_results/<id>``), or its id is not valid.
    """
    try:
        path = urllib.parse.urlsplit(url).path
    except ValueError:
        raise ValueError("not a valid URL") from None
    match = _RUN_PATH.search(path)
    if match is None:
        raise ValueError(
            "a URL that names no run (a run's page looks like "
            "https://app.testsigma.com/ui/td/runs/<id>)"
        )
    return parse_id(match.group(1), "the run id in the URL")


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


def is_csv_header(line: str) -> bool:
    """Whether ``line`` is the CSV header (``id,testCaseResultIds,...``)."""
    text = line.strip(_BLANKS)
    return text.replace(" ", "").lower().startswith("id,") or text.lower() == "id"


def parse_target_line(line: str, *, csv: bool = True) -> Target | None:
    """One line of a targets file; None for blanks, comments and a CSV header.

    Args:
        line: The line.
        csv: Whether a CSV line is allowed (after a header); otherwise a comma is refused.

    Raises:
        ValueError: The line is not a target (the message says why); a
            :class:`CommaList` for a comma without ``csv``.
    """
    text = line.strip(_BLANKS)
    if not text or text.startswith("#"):
        return None
    if text.startswith("{"):
        return _from_json(text)
    if text.lower().startswith(("http://", "https://")):
        return Target(run_id_from_url(text))
    if is_csv_header(text):
        return None
    if "," in text and not csv:
        raise CommaList("ids separated by commas")
    return _from_csv(text)


def _comma_hint(item: str) -> str:
    if item == "argument":
        return "give each id as its own argument (2016 2017, not 2016,2017)"
    return f"give one id a line, or start the file with the CSV header {CSV_HEADER}"


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
    csv = False  # CSV lines come after their header: a bare comma list is refused
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise ConfigError(f"{source}, {item} {number}: longer than {MAX_LINE // 1024} KiB")
        try:
            target = parse_target_line(line, csv=csv)
        except ValueError as exc:
            quoted = _shown(line.strip(_BLANKS), _QUOTED)
            why = f"{exc}; {_comma_hint(item)}" if isinstance(exc, CommaList) else str(exc)
            shown = "" if why.endswith(quoted) else f": {quoted}"  # said once: the line is the id
            raise ConfigError(f"{source}, {item} {number}: {why}{shown}") from None
        csv = csv or (target is None and item == "line" and is_csv_header(line))
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


_STILL_FAILING = frozenset({"failed"})


def read_report_targets(path: str | Path, *, still_failing: bool = False) -> Iterator[Target]:
    """The targets of a JSON report written by rerunorch (``--report``).

    Args:
        path: The report.
        still_failing: Only the targets whose rerun still failed (outcome ``failed``
            or any still-failing test); otherwise every result's target.

    Raises:
        ConfigError: The file cannot be read, is not JSON, or is not a rerunorch report
            (naming the file, and the result at fault).
    """
    source = f"--from-report: {path}"
    try:
        with Path(path).open("rb") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read it: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise ConfigError(f"{source}: not a JSON file") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ConfigError(f'{source}: not a rerunorch report (no "results" list)')
    for number, item in enumerate(results, start=1):
        if not isinstance(item, dict) or "target" not in item:
            raise ConfigError(f'{source}: result {number} is not an object with a "target"')
        if item["target"] == 0 and item.get("outcome") == "error":
            continue  # an item that was not a target at all: nothing to sweep
        if still_failing and not (
            item.get("outcome") in _STILL_FAILING or item.get("still_failing")
        ):
            continue
        try:
            yield Target(parse_id(item["target"], "target"))
        except ValueError as exc:
            raise ConfigError(f"{source}: result {number}: {exc}") from None
