"""The import graph, read from the source with ast (nothing is imported): no cycle among flx's
modules or a connector's, plugins reach flx only through its public API, flx never reaches a
connector, and the old top-level names (`core`, `plugins`, ...) are gone for good.

Every import counts: module level, inside functions and under TYPE_CHECKING. A cycle hidden in a
function body still ties two modules together for whoever reads or changes them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# installed name -> folder (pyproject's package-dir)
ROOTS = {"flx": REPO / "core", **{
    f"flx_{p.name}": p for p in sorted((REPO / "plugins").iterdir())
    if (p / "__init__.py").is_file()}}
OLD_NAMES = ("core", "plugins", "schemas", "mappings")


def modules() -> dict[str, Path]:
    found = {}
    for name, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((name, *parts))] = path
    return found


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for each import; `from pkg import sub` yields pkg.sub when sub
    is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: {t for t, _ in imports_of(m, p, known) if t in known and t != m}
            for m, p in mods.items()}


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred nodes deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            found.append(component)

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    cycles = [sorted(c) for c in strongly_connected(graph()) if len(c) > 1]
    assert cycles == []


def test_plugins_import_only_the_public_api() -> None:
    mods = modules()
    known = set(mods)
    offenders = []
    for module, path in mods.items():
        if not module.startswith("flx_"):
            continue
        for target, line in imports_of(module, path, known):
            if target.startswith("flx.") or target.startswith("flx_") and \
                    target.split(".")[0] != module.split(".")[0]:
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert offenders == [], "plugins import `from flx import ...` only:\n" + "\n".join(offenders)


def test_flx_never_imports_a_connector_nor_its_own_root() -> None:
    mods = modules()
    known = set(mods)
    offenders = []
    for module, path in mods.items():
        if not module.startswith("flx.") and module != "flx":
            continue
        for target, line in imports_of(module, path, known):
            # the root's names are for plugins; inside flx, import the module that defines them
            if target.startswith("flx_") or (target == "flx" and module != "flx"):
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert offenders == []


def test_no_old_top_level_name_is_imported() -> None:
    offenders = []
    for folder in ("core", "plugins", "tests", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom)
                         and not node.level else [])
                offenders += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names
                              if n.split(".")[0] in OLD_NAMES]
    assert offenders == []


def test_the_checker_sees_a_cycle_when_there_is_one() -> None:
    assert [sorted(c) for c in strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}})
            if len(c) > 1] == [["a", "b"]]


# Bottom to top: a package may import its own layer and those below it, never one above.
# `flx` (the public API, lazily loaded) sits on top; hookspecs and the Connector base class
# (whose methods receive one) may name the Runtime type. The Source base class sits beside the
# Connector; `sources` (pulling, ingest) above `run`, whose HTTP guard and lock a pull uses.
LAYERS = (("errors", "model", "connector", "source"), ("records",), ("store", "render"),
          ("operations",), ("hookspecs", "plugins"), ("config",), ("run",), ("sources",),
          ("ops",), ("serve",), ("cli",), ("testing",))
ALLOWED_UPWARD = {("flx.hookspecs", "flx.run.runtime"),  # a type under TYPE_CHECKING
                  ("flx.connector", "flx.run.runtime")}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "flx" or len(parts) == 1:
        return None
    return next((i for i, names in enumerate(LAYERS) if parts[1] in names), None)


def test_packages_import_only_downward() -> None:
    upward = []
    for module, targets in graph().items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if None not in (mine, theirs) and theirs > mine \
                    and (module, target) not in ALLOWED_UPWARD:
                upward.append(f"{module} -> {target}")
    assert sorted(upward) == []


def test_every_flx_package_has_a_layer() -> None:
    packages = {p.name for p in (REPO / "core").iterdir() if (p / "__init__.py").is_file()}
    modules_ = {p.stem for p in (REPO / "core").glob("*.py") if p.stem != "__init__"}
    placed = {name for names in LAYERS for name in names}
    assert (packages | modules_) - placed == set()
