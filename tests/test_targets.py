"""Targets: which ids are taken, files read with bounded errors, repeated ids swept once."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunorch.cli.targetfile import TargetInput
from rerunorch.errors import ConfigError
from rerunorch.sharding import Shard
from rerunorch.targets import MAX_ID, Target, parse_id, read_target_file, read_targets, unique
from rerunorch.testing import Simulator

# -- ids --------------------------------------------------------------------------------------

NOT_IDS = [
    "١٠٠٠٤",
    "１００",
    "10_006",
    "+5",
    "-5",
    " 5",
    "5 ",
    "0",
    "00",
    "5.0",
    "1e3",
    "0x10",
    "",
    "²",
]


@pytest.mark.parametrize("text", NOT_IDS)
def test_only_ascii_digits_of_a_positive_number_are_ids(text: str) -> None:
    with pytest.raises(ValueError, match="id must be"):
        parse_id(text)


@pytest.mark.parametrize("value", [MAX_ID + 1, 2**64, 10**30, -1, 0, True, 5.0, None, [5]])
def test_ids_outside_the_apis_range_or_of_another_type_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="id must be") as caught:
        parse_id(value)
    assert len(str(caught.value)) < 120


def test_the_largest_id_is_taken() -> None:
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id("007") == 7


@pytest.mark.parametrize("item", ["١٠٠٠٤", -5, 0, MAX_ID + 1, 5.0, True, None, b"5"])
def test_target_of_validates_python_items(item: object) -> None:
    with pytest.raises(ValueError, match=r"id|target"):
        Target.of(item)  # type: ignore[arg-type]


def test_target_validates_its_fields() -> None:
    assert Target.of("467") == Target(467)
    assert Target(1, test_case_result_ids=[2, 3]).test_case_result_ids == (2, 3)
    with pytest.raises(ValueError, match="id"):
        Target("467")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="id"):
        Target(1, test_case_result_ids=(0,))
    with pytest.raises(ValueError, match="list of ids"):
        Target(1, test_case_result_ids="2")


# -- lines and files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "١٠٠٠٤",
        "１００",
        "10_006",
        "+5",
        "\u00a05",
        "99999999999999999999",
        "5,+6",
        "5,6;x",
        '{"id": 5.0}',
        '{"id": "+5"}',
        '{"id": true}',
        '{"id": 99999999999999999999}',
        '{"id": 5, "id": 6}',
        '{"id": 5, "testCaseResultIds": [NaN]}',
        '{"id": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_a_bad_line_is_refused_with_its_number(line: str) -> None:
    with pytest.raises(ConfigError, match=r"^t\.txt, line 2: ") as caught:
        list(read_targets(["1", line], source="t.txt"))
    assert len(str(caught.value)) < 300


def test_blanks_around_a_line_and_its_cells_are_layout() -> None:
    lines = ["id,testCaseResultIds", "  467\t", " 468 , 2880 2874 ; 1 , ", "\r", "# comment"]
    targets = list(read_targets(lines))
    assert targets == [Target(467), Target(468, (2880, 2874, 1))]


def test_an_error_quotes_at_most_80_characters_of_the_line() -> None:
    line = "x" * 50_000
    with pytest.raises(ConfigError) as caught:
        list(read_targets([line], source="t.txt"))
    assert len(str(caught.value)) < 200
    assert "x" * 70 in str(caught.value)


def test_a_cell_quoted_in_an_error_is_bounded() -> None:
    with pytest.raises(ConfigError) as caught:
        list(read_targets(["5," + "9" * 60_000]))
    assert len(str(caught.value)) < 300


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "targets.txt"
    path.write_bytes(data)
    return path


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, b"467\n468\n46\xe99\n")
    with pytest.raises(ConfigError, match=r"targets.txt, line 3: not UTF-8 \(byte 0xe9"):
        list(read_target_file(path))


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    path = _write(tmp_path, "467\n468\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="UTF-16: save it as UTF-8"):
        list(read_target_file(path))


def test_a_bom_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf467\r\n468\r\n")
    assert [t.id for t in read_target_file(path)] == [467, 468]


def test_an_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = _write(tmp_path, b"467\n" + b"1" * 10_000_000 + b"\n468\n")
    with pytest.raises(ConfigError, match=r"line 2: longer than 64 KiB") as caught:
        list(read_target_file(path))
    assert len(str(caught.value)) < 120


def test_a_long_line_under_the_limit_is_taken(tmp_path: Path) -> None:
    ids = list(range(1, 9000))
    path = _write(tmp_path, json.dumps({"id": 5, "testCaseResultIds": ids}).encode() + b"\n")
    assert [t.test_case_result_ids for t in read_target_file(path)] == [tuple(ids)]


ids = st.integers(min_value=1, max_value=MAX_ID)
targets = st.builds(
    Target,
    ids,
    st.lists(ids, max_size=3).map(tuple),
    st.lists(ids, max_size=3).map(tuple),
)


def _as_line(target: Target, form: int) -> str:
    cases, iterations = target.test_case_result_ids, target.iteration_result_ids
    if form == 0 and not cases and not iterations:
        return str(target.id)
    if form == 1:
        return f"{target.id},{' '.join(map(str, cases))},{';'.join(map(str, iterations))}"
    return json.dumps(
        {"id": target.id, "testCaseResultIds": list(cases), "iterationResultIds": list(iterations)}
    )


@given(st.lists(st.tuples(targets, st.integers(0, 2)), max_size=30))
def test_any_targets_written_in_any_form_read_back(written: list[tuple[Target, int]]) -> None:
    header = "id,testCaseResultIds,iterationResultIds\n"  # CSV lines come after it
    text = header + "\n".join(_as_line(target, form) for target, form in written) + "\n"
    assert list(read_targets(text.splitlines())) == [target for target, _ in written]


@given(
    st.lists(ids.map(str), min_size=1, max_size=20),
    st.integers(0, 19),
    st.sampled_from([t for t in NOT_IDS if t and t == t.strip()] + ["٣", "1\u00a0", "1" * 20]),
)
def test_a_bad_id_anywhere_is_reported_at_its_line(good: list[str], at: int, bad: str) -> None:
    at = min(at, len(good))
    lines = [*good[:at], bad, *good[at:]]
    with pytest.raises(ConfigError, match=rf"^<targets>, line {at + 1}: "):
        list(read_targets(lines))


def test_unique_keeps_the_first_of_each_id() -> None:
    items = [Target(1), Target(2, (5,)), Target(1, (9,)), Target(2), Target(3)]
    assert list(unique(items)) == [Target(1), Target(2, (5,)), Target(3)]
    assert list(unique(items, repeated={1})) == [Target(1), Target(2, (5,)), Target(2), Target(3)]


# -- the command line's input -------------------------------------------------------------------


def test_repeated_ids_are_swept_once_and_noted(tmp_path: Path) -> None:
    path = _write(tmp_path, b"id,testCaseResultIds\n2000\n2001\n2000,5\n2002\n")
    targets = TargetInput(("2000", "2000", "2003"), str(path))
    try:
        assert [t.id for t in targets] == [2000, 2003, 2001, 2002]
        assert [t.test_case_result_ids for t in targets if t.id == 2000] == [()]
        assert (targets.count, targets.repeated) == (4, 3)
        assert targets.notes == [
            "3 repeated targets skipped: each id is swept once (repeated: 2000)"
        ]
    finally:
        targets.close()


def test_no_repeats_no_note() -> None:
    targets = TargetInput(("1", "2"), None)
    assert (targets.count, targets.repeated, targets.notes) == (2, 0, [])


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("99999999999999999999", r"from 1 to 2\^63-1"),
        ("１００", "ASCII digits"),
        (" 5", "spaces around"),
        ("x" * 100_000, "longer than 64 KiB"),
    ],
)
def test_a_bad_argument_is_named(arg: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        TargetInput(("1", arg), None)
    assert "argument 2" in str(caught.value)
    assert len(str(caught.value)) < 300


def test_stdin_that_is_not_utf8_names_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"1\n2\n\xff\xfe3\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(ConfigError, match=r"<stdin>, line 3: not UTF-8"):
        TargetInput((), "-")


async def _cli(simulator: Simulator, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "TESTSIGMA_API_KEY": simulator.api_key,
        "TESTSIGMA_BASE_URL": simulator.base_url,
    }
    command = [sys.executable, "-m", "rerunorch", "sweep", "--time-scale", "100", *args]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, env=env, check=False)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def _posts(simulator: Simulator) -> int:
    by_endpoint = simulator.stats.requests_by_endpoint
    return sum(n for name, n in by_endpoint.items() if name.startswith("POST"))


@pytest.mark.simulator(targets=1, passed_targets=0)
async def test_a_repeated_id_is_posted_once(simulator: Simulator, tmp_path: Path) -> None:
    target = str(simulator.target_ids[0])
    code, output = await _cli(
        simulator, target, target, target, "--no-wait", "--journal", str(tmp_path / "j.sqlite")
    )
    assert code == 0, output
    assert _posts(simulator) == 1
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert "2 repeated targets skipped: each id is swept once" in output


@pytest.mark.simulator(targets=1, passed_targets=0)
async def test_an_id_above_the_range_exits_2_before_any_request(simulator: Simulator) -> None:
    code, output = await _cli(simulator, "99999999999999999999")
    assert code == 2, output
    assert "error: command line, argument 1: id must be from 1 to 2^63-1" in output
    assert simulator.stats.requests == 0


def test_the_shard_count_is_of_unique_ids() -> None:
    everything = TargetInput(("1", "2", "1", "3", "2"), None, Shard(1, 1))
    assert (everything.count, everything.in_shard) == (3, 3)
    halves = [TargetInput(("1", "2", "1", "3", "2"), None, Shard(i, 2)).in_shard for i in (1, 2)]
    assert sum(halves) == 3
