"""The public API is exactly what ``__all__`` says, written once, and importing it is cheap.

``rerunorch`` and ``rerunorch.testing`` import their names lazily from ``_HOMES``; type
checkers read the ``TYPE_CHECKING`` block instead. These tests keep the map, the block,
``__all__`` and the real namespace equal (httpx's tests/test_exported_members.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types

import pytest

import rerunorch
import rerunorch.testing

PACKAGES = [rerunorch, rerunorch.testing]


def offered(module: types.ModuleType) -> set[str]:
    """The public names the module offers: what ``dir`` shows, less submodules and dunders.

    (Names that are not identifiers, such as the ``@py_builtins`` of pytest's assertion
    rewriting, which also rewrites this package because it ships a pytest plugin, are
    nothing a program can reach.)
    """
    names = set()
    for name in dir(module):
        value = getattr(module, name)
        submodule = isinstance(value, types.ModuleType) and value.__name__.startswith(
            f"{module.__name__}."
        )
        if name.isidentifier() and not name.startswith("_") and not submodule:
            names.add(name)
    return names


def type_checking_exports(module: types.ModuleType) -> dict[str, str]:
    """``name -> home module`` of the ``X as X`` imports in the ``TYPE_CHECKING`` block."""
    tree = ast.parse(inspect.getsource(module))
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, (ast.Name, ast.Attribute))
        and ast.unparse(node.test).split(".")[-1] == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "one TYPE_CHECKING block"
    exports: dict[str, str] = {}
    for statement in blocks[0].body:
        assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
        for alias in statement.names:
            assert alias.asname == alias.name, f"{alias.name}: write `{alias.name} as {alias.name}`"
            assert alias.name not in exports, f"{alias.name} imported twice"
            exports[alias.name] = str(statement.module)
    return exports


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_exactly_the_public_namespace(module: types.ModuleType) -> None:
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    # Every name resolved: what the module now offers is still only __all__.
    assert offered(module) == set(module.__all__) - {"__version__"}


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_made_from_the_map_once(module: types.ModuleType) -> None:
    assert module.__all__ == sorted(module.__all__)
    assert len(module.__all__) == len(set(module.__all__))
    assert set(module.__all__) - {"__version__"} == set(module._HOMES)


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_type_checkers_see_what_the_map_exports(module: types.ModuleType) -> None:
    assert type_checking_exports(module) == module._HOMES


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_each_name_comes_from_its_home(module: types.ModuleType) -> None:
    for name, home in module._HOMES.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_unknown_names_raise_attribute_error(module: types.ModuleType) -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = module.NoSuchThing


def test_what_annotations_need_is_exported() -> None:
    """Types that public signatures name, so programs and plugins can annotate with them."""
    needed = {"PacingStats", "RequestPacer", "RerunSlots", "ResultLog", "PluginInfo"}
    assert needed | {"FailedPlugin", "Journal"} <= set(rerunorch.__all__)


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
