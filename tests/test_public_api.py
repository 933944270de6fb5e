"""The public API is exactly what ``rerunorch.__all__`` says, and importing it is cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import rerunorch


def test_all_is_exactly_what_is_exported() -> None:
    assert set(rerunorch.__all__) <= set(dir(rerunorch))
    for name in rerunorch.__all__:
        assert getattr(rerunorch, name) is not None, name
    exported_lazily = set(rerunorch._HOMES) | {"__version__"}
    assert exported_lazily == set(rerunorch.__all__)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = rerunorch.NoSuchThing  # type: ignore[attr-defined]


def test_the_command_line_shows_help_without_heavy_imports() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from rerunorch.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--help'], standalone_mode=False)\n"
        "print(*sorted(m for m in ('aiohttp', 'rich', 'asyncio', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == [], f"--help imported {out.split()}"


def test_no_submodule_shadows_an_exported_name() -> None:
    for home in set(rerunorch._HOMES.values()):
        importlib.import_module(home)  # importing a submodule sets it on the package
    for name, home in rerunorch._HOMES.items():
        assert getattr(rerunorch, name) is getattr(importlib.import_module(home), name), name
