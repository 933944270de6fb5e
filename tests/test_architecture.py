"""The import rules of docs/architecture.md hold.

The graph is built from the source with ``ast``, so it sees every import: at module
level, inside functions (they run when called) and under ``if TYPE_CHECKING:`` (they
run for type checkers only). What counts where:

- Between modules, no circle of imports that run: module level and inside functions.
  A type-only import back to a module that imports you at run time (the plugin relay
  naming its manager in an annotation) creates no import order, so it is tolerated
  inside a room.
- Between rooms (api/, pacing/, ..., each top-level module a room of its own), no
  circle of any import, type-only ones included: the rooms form layers.
- The room rules below hold for every import, type-only ones included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import attrs
import pytest

import rerunorch

PACKAGE = Path(rerunorch.__file__).parent
SUBPACKAGES = {
    "api",
    "pacing",
    "report",
    "strategies",
    "plugins",
    "cli",
    "testing",
    "discovery",
    "ledger",
    "notifiers",
    "fleet",
}

# The engine's side: what runs a sweep or drives it. Nothing below it may reach up.
ENGINE_SIDE = frozenset({"engine", "lifecycle", "cli", "plugins"})

# Room -> the rooms it must not import (its own room aside).
FORBIDDEN: Mapping[str, Set[str]] = {
    "api": ENGINE_SIDE | {"report", "journal", "strategies", "testing"},
    "pacing": ENGINE_SIDE | {"api", "report", "journal", "strategies", "testing"},
    "report": ENGINE_SIDE | {"journal", "testing"},
    "strategies": ENGINE_SIDE | {"report", "journal", "testing"},
    "discovery": ENGINE_SIDE | {"report", "journal", "strategies", "testing"},
    "plugins": ENGINE_SIDE | {"testing"},
    # The notifiers see a finished report: nothing of the API, the engine or the CLI; of
    # plugins/ only the hook marker (test below).
    "notifiers": (ENGINE_SIDE - {"plugins"})
    | {"api", "journal", "strategies", "discovery", "testing"},
    # The simulator is an oracle: it shares nothing with the side it tests.
    "testing": ENGINE_SIDE | {"api", "pacing", "strategies", "journal", "ledger"},
    # The flake ledger reads the API's models and the verdicts; the sweep reads it.
    "ledger": ENGINE_SIDE
    | {"report", "journal", "strategies", "discovery", "pacing", "events", "outcome", "testing"},
    # A fleet feeds the engine (targets, a journal) and reads its records: it never runs it.
    "fleet": ENGINE_SIDE | {"api", "strategies", "discovery", "testing"},
}

# Rooms below the ledger: they must not import it (the events name its Observation).
BELOW_LEDGER = frozenset({"api", "pacing", "verdicts", "report", "strategies", "discovery"})

# Only these may import the engine or the CLI.
DRIVERS = frozenset({"cli", "rerunorch", "__main__"})


@attrs.frozen
class Import:
    source: str
    target: str
    line: int
    type_only: bool

    def __str__(self) -> str:
        kind = " (type only)" if self.type_only else ""
        return f"{self.source}:{self.line} imports {self.target}{kind}"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_files()


class _Finder(ast.NodeVisitor):
    """Collects the rerunorch imports of one module, noting the type-only ones."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[Import] = []
        self._type_only = False

    def visit_If(self, node: ast.If) -> None:
        if (
            isinstance(node.test, (ast.Name, ast.Attribute))
            and ast.unparse(node.test).split(".")[-1] == "TYPE_CHECKING"
        ):
            outer, self._type_only = self._type_only, True
            for child in node.body:
                self.visit(child)
            self._type_only = outer
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            origin = ".".join([*base, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        for alias in node.names:
            submodule = f"{origin}.{alias.name}"
            self._add(submodule if submodule in MODULES else origin, node)

    def _add(self, target: str, node: ast.stmt) -> None:
        if target in MODULES and target != self.module:
            self.found.append(Import(self.module, target, node.lineno, self._type_only))


def all_imports() -> list[Import]:
    found: list[Import] = []
    for module, path in MODULES.items():
        finder = _Finder(module, path.name == "__init__.py")
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found.extend(finder.found)
    return found


IMPORTS = all_imports()


def room(module: str) -> str:
    """``api`` for ``rerunorch.api.client``; ``engine`` for ``rerunorch.engine``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def find_circle(edges: Mapping[str, Set[str]]) -> list[str] | None:
    """One circle of ``edges`` as a path that ends where it starts, or None."""
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(edges.get(node, ())):
            circle = walk(nxt, [*path, node])
            if circle:
                return circle
        done.add(node)
        return None

    for start in sorted(edges):
        circle = walk(start, [])
        if circle:
            return circle
    return None


def module_graph(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        edges.setdefault(imp.source, set()).add(imp.target)
    return edges


def room_graph(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if room(imp.source) != room(imp.target):
            edges.setdefault(room(imp.source), set()).add(room(imp.target))
    return edges


def offending(rule: Set[str], source_room: str) -> Iterator[Import]:
    for imp in IMPORTS:
        if room(imp.source) == source_room and room(imp.target) in rule - {source_room}:
            yield imp


# --- the graph itself -------------------------------------------------------------------


def test_the_graph_sees_every_kind_of_import() -> None:
    """A parser that found nothing would let every rule below pass."""
    kinds = {(i.source, i.target, i.type_only) for i in IMPORTS}
    assert ("rerunorch.engine", "rerunorch.lifecycle", False) in kinds  # module level
    assert ("rerunorch.engine", "rerunorch.pacing.shared", False) in kinds  # in a function
    assert ("rerunorch.plugins.relay", "rerunorch.plugins.manager", True) in kinds
    assert ("rerunorch.testing.simulator", "rerunorch.testing.app", False) in kinds  # relative
    assert {room(m) for m in MODULES} >= SUBPACKAGES | {"engine", "clock", "rerunorch"}


def test_find_circle_finds_one() -> None:
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


# --- the rules --------------------------------------------------------------------------


def test_no_circle_among_modules() -> None:
    circle = find_circle(module_graph([i for i in IMPORTS if not i.type_only]))
    assert circle is None, " -> ".join(circle or [])


def test_no_circle_among_rooms() -> None:
    circle = find_circle(room_graph(IMPORTS))
    assert circle is None, " -> ".join(circle or [])


@pytest.mark.parametrize("source_room", sorted(FORBIDDEN))
def test_a_room_imports_nothing_above_it(source_room: str) -> None:
    bad = [str(i) for i in offending(FORBIDDEN[source_room], source_room)]
    assert bad == [], "\n".join(bad)


def test_only_the_cli_drives_the_engine() -> None:
    bad = [
        str(i)
        for i in IMPORTS
        if room(i.target) in {"engine", "cli"} and room(i.source) not in DRIVERS
    ]
    assert bad == [], "\n".join(bad)


def test_only_the_cli_uses_the_fleet() -> None:
    """The fleet is a target source and a journal the CLI hands the engine; nothing else
    (the engine included) knows of it."""
    bad = [
        str(i)
        for i in IMPORTS
        if room(i.target) == "fleet" and room(i.source) not in DRIVERS | {"fleet"}
    ]
    assert bad == [], "\n".join(bad)


def test_the_notifiers_are_plugins_that_nothing_imports() -> None:
    """Loaded through their entry points only; of plugins/ they take only the hook marker."""
    bad = [
        str(i)
        for i in IMPORTS
        if (room(i.target) == "notifiers" and room(i.source) != "notifiers")
        or (
            room(i.source) == "notifiers"
            and room(i.target) == "plugins"
            and i.target != "rerunorch.plugins.hookspecs"
        )
    ]
    assert bad == [], "\n".join(bad)


def test_nothing_below_the_ledger_imports_it() -> None:
    found = [
        str(imp)
        for imp in IMPORTS
        if room(imp.source) in BELOW_LEDGER and room(imp.target) == "ledger"
    ]
    assert found == []
