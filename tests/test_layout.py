"""The package layout keeps its promises: what a package may import is checked here."""

from __future__ import annotations

import ast
from pathlib import Path

import cockpit

SRC = Path(cockpit.__file__).parent
HOST_SIDE = ("cockpit.host", "cockpit.relay", "cockpit.store", "cockpit.web", "cockpit.admin")


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports (absolute names), also imports inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)  # and `from cockpit import host` counts as cockpit.host
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_pictures_import_nothing_from_the_host_or_the_relay() -> None:
    """`cockpit.pictures` draws pictures only: no module of it imports the host, the
    relay, the store, the web pages or the admin, so it runs without any of them."""
    modules = sorted((SRC / "pictures").glob("*.py"))
    assert len(modules) > 10
    offending = {
        f"{path.name}: {name}"
        for path in modules
        for name in imported_modules(path)
        if any(name == side or name.startswith(side + ".") for side in HOST_SIDE)
    }
    assert not offending


def test_pictures_use_no_relative_imports() -> None:
    """Imports in `cockpit.pictures` are absolute, so the check above sees every one."""
    for path in (SRC / "pictures").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        assert not relative, path.name
