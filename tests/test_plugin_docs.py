"""docs/plugins.md documents every hook, and its examples work as written."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest

from rerunorch import Clock, SweepReport
from rerunorch.notify import run_notifiers
from rerunorch.plugins import PluginManager, hookspecs
from rerunorch.testing import Simulator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("rerunorch_"))


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """``### `rerunorch_x``` heading -> the text up to the next heading."""
    parts = re.split(r"^(#{2,3} .*)$", text(), flags=re.MULTILINE)
    found = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        match = re.fullmatch(r"### `(rerunorch_\w+)`", heading.strip())
        if match:
            found[match.group(1)] = body
    return found


def blocks(body: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)


def example_module(hook: str) -> types.ModuleType:
    """The hook's first Python example, run as a module."""
    [first, *_] = blocks(sections()[hook], "python")
    module = types.ModuleType(f"docs_{hook}")
    exec(compile(first, f"{DOC}:{hook}", "exec"), module.__dict__)
    return module


def test_hooks_are_found() -> None:
    assert "rerunorch_register_strategies" in HOOKS
    assert len(HOOKS) >= 8


def test_every_hook_spec_is_documented() -> None:
    documented = sections()
    assert [hook for hook in HOOKS if hook not in documented] == []
    assert [hook for hook in documented if hook not in HOOKS] == []  # no stale sections


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_an_example_that_registers_cleanly(hook: str) -> None:
    module = example_module(hook)
    manager = PluginManager(strict=True, builtins=False)
    assert manager.register(module, name="example") == "example"
    [info] = manager.describe()
    assert hook in info.hooks
    assert manager.failed == ()


def test_every_code_block_parses() -> None:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    for block in blocks(text(), "python"):
        compile(block, str(DOC), "exec", flags=flags)
    for block in blocks(text(), "toml"):
        tomllib.loads(block)


def test_the_environment_variables_are_documented() -> None:
    for name in ("RERUNORCH_PLUGINS", "RERUNORCH_DISABLE_PLUGINS", "RERUNORCH_STRICT_PLUGINS"):
        assert f"`{name}`" in text()
    assert "[project.entry-points.rerunorch]" in text()


async def test_the_documented_notifier_writes_its_line(tmp_path: Path) -> None:
    manager = PluginManager(strict=True, builtins=False)
    manager.register(example_module("rerunorch_register_notifiers"))
    report = SweepReport(started_at=0.0, config={}, finished_at=1.0)
    out = tmp_path / "sweeps.jsonl"
    warnings = await run_notifiers(["jsonl"], manager.notifiers(), report, {"jsonl": {"path": out}})
    assert warnings == []
    assert '"targets": 0' in out.read_text()


@pytest.mark.simulator(targets=4, passed_targets=1)
async def test_the_documented_plugin_test_passes(
    simulator: Simulator, simulator_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The "Testing with the simulator" example, with the strategy example as its plugin.
    monkeypatch.setitem(
        sys.modules, "rerunorch_outage", example_module("rerunorch_register_strategies")
    )
    [testing] = blocks(text().split("## Testing with the simulator", 1)[1], "python")[:1]
    namespace: dict[str, object] = {}
    exec(compile(testing, f"{DOC}:testing", "exec"), namespace)
    await namespace["test_outage_strategy_drives_a_sweep"](simulator, simulator_clock)  # type: ignore[operator]
