"""Property tests over the config file: whatever a ``[sweep]`` table holds, the command
ends in exit 2 with one ``error:`` line, before any request, and never in a traceback."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerunorch.cli import cli
from rerunorch.cli.config import SWEEP_KEYS

# Nothing listens here: a config that is valid ends at the reachability check (exit 2),
# one that is not ends at its first bad key (exit 2). Either way nothing is triggered.
CLOSED = "http://127.0.0.1:9"
# Keys whose valid values would reach outside the test (Redis) or read stdin.
LEFT_OUT = {"shared_limit", "from_file", "base_url", "api_key"}

_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_values: st.SearchStrategy[Any] = st.one_of(
    _numbers, st.booleans(), _text, st.lists(st.one_of(_text, _numbers), max_size=3)
)
_tables = st.dictionaries(
    st.sampled_from([*sorted(set(SWEEP_KEYS) - LEFT_OUT), "unknown_key"]), _values, max_size=5
)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = "".join(
            c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in value
        )
        return f'"{escaped}"'
    return "[" + ", ".join(_toml(v) for v in value) + "]"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTSIGMA_API_KEY", "fuzz-key")
    monkeypatch.delenv("TESTSIGMA_BASE_URL", raising=False)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=_tables)
def test_any_sweep_table_ends_in_a_clear_exit_2(env: None, table: dict[str, Any]) -> None:
    lines = ["[sweep]", f'base_url = "{CLOSED}"']
    lines += [f"{key} = {_toml(value)}" for key, value in table.items() if not _bad_int(value)]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder, "rerunorch.toml")
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            result = CliRunner().invoke(cli, ["sweep", "1", "--config", str(config), "--dry-run"])
        finally:
            os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    # It names what was wrong: the key (as written in the file or as its flag), or the server.
    flags = {"--" + key.replace("_", "-") for key in table}
    names = {*table, *flags, *(flag.removesuffix("s") for flag in flags)}  # plans: --plan
    named = "cannot reach" in errors[0] or "unknown " in errors[0]
    assert named or any(n in errors[0] for n in names), errors[0]


def _bad_int(value: Any) -> bool:
    # TOML has no integers beyond 64 bits: such a file is simply unreadable, a case
    # test_an_unreadable_config_names_the_file_and_key covers.
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in values)
