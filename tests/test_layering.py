"""The floor plan, enforced: which package may import which (the README's layering table), and no cycles.

A small AST walk over every module of the shipped packages; imports inside functions count too
(a lazy import is still a dependency). Layers, bottom to top:

- ``common``: the contracts (tables, records, blob store, digests, media types, errors); imports no stage.
- ``crawler`` (registry -> store), ``traces`` (registry workload traces), ``analyze`` (pure transforms,
  figures, report): import only ``common``.
- ``jobs`` (the Spark jobs): imports ``common`` and ``analyze``'s transforms.
- ``hubscope`` (the command and the demo): imports anything.
"""
from __future__ import annotations

import ast
import os
from collections import defaultdict

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("common", "crawler", "traces", "jobs", "analyze", "hubscope")
ALLOWED = {  # package -> the other packages it may import
    "common": set(),
    "crawler": {"common"},
    "traces": {"common"},
    "analyze": {"common"},
    "jobs": {"common", "analyze"},
    "hubscope": {"common", "crawler", "traces", "jobs", "analyze"},
}
# The report renders from result files; neither it nor anything it imports may need pyspark.
NO_PYSPARK = ("analyze.report", "analyze.report_command")


def _modules() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        for folder, _, names in os.walk(os.path.join(ROOT, package)):
            for name in names:
                if name.endswith(".py"):
                    rel = os.path.relpath(os.path.join(folder, name), ROOT)[:-3].replace(os.sep, ".")
                    found[rel.removesuffix(".__init__")] = os.path.join(folder, name)
    return found


def _imports(module: str, path: str, known: set[str]) -> dict[str, int]:
    """Modules imported by ``module`` (project modules, and third-party top-level names) -> first line."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_package = path.endswith("__init__.py")
    out: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        out.setdefault(name, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_known_prefix(alias.name, known), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:  # ``from pkg import mod`` imports pkg.mod
                candidate = f"{base}.{alias.name}"
                add(candidate if candidate in known else _known_prefix(base, known), node.lineno)
    out.pop(module, None)  # a job importing itself by name (so spark pickles by module) is no dependency
    return out


def _known_prefix(name: str, known: set[str]) -> str:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return name


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    modules = _modules()
    known = set(modules)
    return {m: _imports(m, p, known) for m, p in modules.items()}


def test_every_shipped_package_is_walked(graph):
    assert {m.split(".")[0] for m in graph} == set(PACKAGES)
    assert "common.schemas" in graph and "hubscope.cli" in graph and "jobs.stats" in graph


def test_no_upward_or_sideways_imports(graph):
    bad = []
    for module, imported in graph.items():
        own = module.split(".")[0]
        for target, line in imported.items():
            top = target.split(".")[0]
            if top in PACKAGES and top != own and top not in ALLOWED[own]:
                bad.append(f"{module}:{line} imports {target} ({own} may import only {sorted(ALLOWED[own]) or 'nothing'})")
    assert not bad, "\n".join(bad)


def test_analyze_never_imports_a_session_or_a_job(graph):
    bad = [f"{m} imports {t}" for m, imp in graph.items() if m.startswith("analyze") for t in imp
           if t.startswith("jobs") or t == "pyspark.sql.session"]
    assert not bad, "\n".join(bad)


def test_the_report_does_not_need_pyspark(graph):
    seen, todo = set(), list(NO_PYSPARK)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for target in graph.get(module, {}):
            assert not target.startswith("pyspark"), f"{module} imports {target} (reached from the report)"
            if target in graph:
                todo.append(target)


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    edges = {m: [t for t in imp if t in graph] for m, imp in graph.items()}
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return comps


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


def test_the_cycle_check_sees_a_cycle():
    graph = {"a.x": {"a.y": 1}, "a.y": {"a.z": 1}, "a.z": {"a.x": 1}, "a.w": {"a.x": 1}}
    assert _cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_package_level_graph_is_acyclic(graph):
    deps = defaultdict(set)
    for module, imported in graph.items():
        for target in imported:
            if target.split(".")[0] in PACKAGES and target.split(".")[0] != module.split(".")[0]:
                deps[module.split(".")[0]].add(target.split(".")[0])
    assert _cycles({p: {d: 1 for d in deps[p]} for p in PACKAGES}) == []
