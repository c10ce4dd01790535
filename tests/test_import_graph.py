"""The import graph of `protoforge`: no cycles, and no module reaching into another's private names.

A cycle between modules is what lazy imports used to hide (`breaking/__init__` ↔ `fastpath`,
`cli` ↔ `cli_breaking`): it works until someone moves an import to the top of a file. The graph is
built from the source (the AST), from the imports that run when a module is imported: module-level
statements, including those inside a module-level `if`/`try`, but not `if TYPE_CHECKING:` blocks
(never run) nor imports inside functions (run later, when the module is complete).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import protoforge

SOURCE = Path(protoforge.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in sorted(SOURCE.rglob("*.py"))
    if "__pycache__" not in path.parts and "templates" not in path.parts
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def all_statements(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions too, except in `if TYPE_CHECKING:` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            found += [s for child in node.orelse for s in all_statements(child)]
        else:
            found += all_statements(node)
    return found


def import_time_statements(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += import_time_statements(node.body)
            found += import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += import_time_statements(block)
    return found


def absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str, *, lazy: bool = False) -> set[str]:
    """The protoforge modules that importing `module` imports directly (`lazy`: or that its
    functions import when they run). `from pkg import name` is an edge to `pkg.name` when that
    is a module, else to `pkg`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    statements = all_statements(tree) if lazy else import_time_statements(tree.body)
    for node in statements:
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = absolute(module, node)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in MODULES else base)
    return {target for target in targets if target in MODULES and target != module}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_graph_sees_imports() -> None:
    """The graph is not vacuously acyclic: it has the edges a reader sees in the files."""
    assert "protoforge.breaking.report" in GRAPH["protoforge.breaking.full"]
    assert "protoforge.breaking.buf" in GRAPH["protoforge.breaking.report"]
    # nor does it count what only type checkers read
    assert "protoforge.breaking.findings" not in GRAPH["protoforge.breaking.report"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_breaking() -> None:
    """Not even through the imports inside functions: those are how `breaking/__init__` and the
    fast path used to depend on each other unnoticed."""
    breaking = {
        module: {t for t in imports_of(module, lazy=True) if t.startswith("protoforge.breaking")}
        for module in MODULES
        if module.startswith("protoforge.breaking")
    }
    assert breaking["protoforge.breaking"] >= {"protoforge.breaking.full"}  # a lazy import
    assert cycles(breaking) == []


# Cycles that exist and are known, each with why; the test fails on any other, and on one of
# these once it is gone (remove it here then).
def test_no_import_cycle_in_protoforge() -> None:
    assert cycles(GRAPH) == []


# (importing module, imported module) pairs allowed to use private names, each with the reason;
# none today (check-breaking's use of protoc's message parsing went with source/diagnostics.py)
STILL_PRIVATE: set[tuple[str, str]] = set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_of_other_modules(module: str) -> None:
    """`from protoforge.x import _name` (anywhere in the file) and `x._name` on an imported
    protoforge module: private names stay in their module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    offending: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = absolute(module, node)
            if not base.startswith("protoforge") or (module, base) in STILL_PRIVATE:
                continue
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    offending.append(f"line {node.lineno}: from {base} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("protoforge") and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and (module, aliases[node.value.id]) not in STILL_PRIVATE
        ):
            offending.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert offending == []
