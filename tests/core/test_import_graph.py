"""The library's modules import each other in one direction: no cycles, deferred or not.

A deferred import (inside a function) hides a cycle from Python but not from
a reader; only imports under ``if TYPE_CHECKING:`` (annotations) are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pytyche_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(source: str, module: str, known: set[str], *, is_package: bool = False) -> set[str]:
    """The pytyche_core modules ``source`` (of ``module``) imports at run time, module level or deferred."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("pytyche_core"):
                for alias in node.names:  # "from . import analysis" names a module
                    candidate = f"{target}.{alias.name}"
                    found.add(candidate if candidate in known else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pytyche_core"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return {name for name in found if name in known and name != module}


def _sources() -> dict[str, tuple[str, bool]]:
    return {_module_name(f): (f.read_text(), f.name == "__init__.py") for f in sorted(PACKAGE.rglob("*.py"))}


def _graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    known = set(sources)
    return {name: _runtime_imports(text, name, known, is_package=is_package)
            for name, (text, is_package) in sources.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between modules (packages' ``__init__`` re-exports excluded), or None."""
    modules = {m for m in graph if not any(m == other.rpartition(".")[0] or m == "pytyche_core"
                                           for other in graph if other != m)}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node] & modules):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(modules):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_the_library_has_no_import_cycle():
    cycle = _cycle(_graph(_sources()))
    assert cycle is None, " -> ".join(cycle)


def test_the_check_finds_a_deferred_cycle():
    graph = {"pytyche_core.a": {"pytyche_core.b"}, "pytyche_core.b": {"pytyche_core.a"}}
    assert _cycle(graph) == ["pytyche_core.a", "pytyche_core.b", "pytyche_core.a"]


def test_results_import_the_analyses_not_the_reverse():
    graph = _graph(_sources())
    results = "pytyche_core.posterior.results"
    for module in ("analysis", "comparisons", "policy_tree", "diagnostics", "persistence", "calibration"):
        name = f"pytyche_core.posterior.{module}"
        assert results not in graph[name], f"{name} imports results at run time"


def test_a_deferred_import_cycle_is_found_and_an_annotation_only_one_is_not():
    sources = _sources()
    persistence = "pytyche_core.posterior.persistence"
    text, is_package = sources[persistence]
    deferred = sources | {persistence: (text + "\n\ndef _probe():\n    from .results import BCFResult\n", is_package)}
    assert _cycle(_graph(deferred)) is not None
    annotated = sources | {persistence: (text + "\n\nif TYPE_CHECKING:\n    from .results import BCFResult\n",
                                         is_package)}
    assert _cycle(_graph(annotated)) is None
