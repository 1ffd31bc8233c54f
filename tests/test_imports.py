"""The packages' import graph: who may import whom, and no cycles between packages.

Read from the source with `ast`, so an import inside a function counts as much as one
at the top of a module: a lazy import hides a cycle from Python, not from the design.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "cockpit"

# Imports that would close a cycle, allowed because they must stay: (importer module,
# imported top-level part) -> why. Keep it empty; each entry needs its reason here.
ALLOWED: dict[tuple[str, str], str] = {}

Graph = dict[str, dict[str, list[str]]]  # part -> imported part -> "module:line" sites


def _module_name(path: Path) -> tuple[str, str]:
    """The dotted name of the module at `path`, and the package it sits in."""
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), ".".join(parts[:-1])
    return ".".join(parts), ".".join(parts[:-1])


def _imported(node: ast.AST, package: str) -> list[str]:
    """The dotted names an import statement brings in (`from a import b`: `a` and `a.b`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def _part(dotted: str) -> str | None:
    """The top-level part of cockpit a name belongs to (`cockpit.relay.x` -> `relay`)."""
    pieces = dotted.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == PACKAGE else None


def import_graph() -> Graph:
    """Which top-level parts of cockpit (subpackages and modules) import which."""
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        module, package = _module_name(path)
        source = _part(module)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, package):
                target = _part(name)
                lineno = getattr(node, "lineno", 0)
                allowed = (module, target) in ALLOWED
                if source and target and target != source and not allowed:
                    graph[source][target].append(f"{module}:{lineno}")
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of the graph as a path of parts (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(part: str) -> list[str] | None:
        state[part] = 1
        path.append(part)
        for target in sorted(graph.get(part, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[part] = 2
        return None

    for part in sorted(graph):
        if part not in state and (found := visit(part)):
            return found
    return None


def _sites(graph: Graph, cycle: list[str]) -> str:
    return "\n".join(
        f"  {a} -> {b}: {', '.join(sorted(set(graph[a][b])))}" for a, b in itertools.pairwise(cycle)
    )


def test_no_cycle_between_packages() -> None:
    """No top-level part of cockpit imports, even lazily, one that imports it back."""
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle " + " -> ".join(cycle) + ":\n" + _sites(graph, cycle)


def test_relay_does_not_import_the_pages_or_the_assembly() -> None:
    """The relay is imported by web/, admin/ and server.py, and imports none of them."""
    uses = import_graph()["relay"]
    wrong = {part: uses[part] for part in ("web", "admin", "server") if part in uses}
    assert not wrong, f"cockpit.relay imports {wrong}"


def test_core_imports_no_relay_store_or_host() -> None:
    """core/ is pure: the relay, the store and the host build on it, never the reverse."""
    uses = import_graph()["core"]
    wrong = {part: uses[part] for part in ("relay", "store", "host") if part in uses}
    assert not wrong, f"cockpit.core imports {wrong}"


def test_pictures_import_nothing_from_the_host_or_the_servers() -> None:
    """pictures/ only draws: it imports none of host, relay, store, web or admin, so it
    runs (and is tested) without git, Chromium, a database or a server."""
    assert (SRC / PACKAGE / "pictures").is_dir()
    uses = import_graph()["pictures"]
    parts = ("host", "relay", "store", "web", "admin")
    wrong = {part: uses[part] for part in parts if part in uses}
    assert not wrong, f"cockpit.pictures imports {wrong}"


def test_a_cycle_is_found_and_named() -> None:
    """The checker itself: a two-step cycle is reported with both steps."""
    graph: Graph = {"a": {"b": ["cockpit.a.x:1"]}, "b": {"a": ["cockpit.b.y:2"]}, "c": {}}
    assert find_cycle(graph) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}}) is None


def test_lazy_and_relative_imports_count() -> None:
    """An import inside a function, or a relative one, is an edge of the graph."""
    tree = ast.parse("def f():\n    from ..web import pages\n")
    found = [name for node in ast.walk(tree) for name in _imported(node, "cockpit.relay")]
    assert found == ["cockpit.web", "cockpit.web.pages"]


def test_idle_processes_leave_heavy_libraries_unloaded() -> None:
    """The relay and the host as they start (no PostgreSQL, no voice note yet) load
    neither psycopg (7.7 MiB) nor PyAV (22.6 MiB): idle memory, bench/RESULTS.md."""
    probe = (
        "import sys, cockpit.server, cockpit.host.app; "
        "print(sorted(m for m in ('psycopg', 'av') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
