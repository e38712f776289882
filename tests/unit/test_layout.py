"""The package's shape, held by a test so it survives the next feature: a folder per concern, small
modules and classes, no import cycle between modules or folders, and empty package `__init__` files
(cold start loads only what a path imports)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "record_task"
MAX_MODULE_LINES = 250
MAX_CLASS_LINES = 150


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(path: Path, names: set[str]) -> set[str]:
    """The package modules a module imports (at any level, TYPE_CHECKING included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("record_task"):
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in names
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("record_task"))
    return found & names


def folder(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else module


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                found.append([*path[path.index(target) :], target])
            elif target not in done:
                done.add(target)
                visit(target, [*path, target])

    done: set[str] = set()
    for start in sorted(graph):
        visit(start, [start])
    return found


def test_a_folder_per_concern() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"sources", "bookings", "ledger", "tencent", "recordings", "transports"} <= folders


def test_package_init_files_are_empty() -> None:
    assert [str(p) for p in PACKAGE.rglob("__init__.py") if p.read_text().strip()] == []


def test_no_module_or_class_is_too_long() -> None:
    too_long: list[str] = []
    for name, path in modules():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and (node.end_lineno or 0) - node.lineno + 1 > MAX_CLASS_LINES:
                too_long.append(f"{name}.{node.name}: {(node.end_lineno or 0) - node.lineno + 1} lines")
    assert too_long == []


def test_no_import_cycle_between_modules_or_folders() -> None:
    names = {name for name, _ in modules()}
    graph = {name: imports(path, names) - {name} for name, path in modules()}
    assert cycles(graph) == []
    folders: dict[str, set[str]] = {}
    for name, targets in graph.items():
        folders.setdefault(folder(name), set()).update(folder(t) for t in targets if folder(t) != folder(name))
    assert cycles(folders) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
