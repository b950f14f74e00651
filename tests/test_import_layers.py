"""Layers only point down: every import in aisec_pipeline, including those inside functions.

Each module belongs to one layer (the most specific prefix below wins). A module may import its
own layer or a lower one. Inside the domain layer, packages may use each other but never in a
cycle. The known exceptions are listed in KNOWN_UPWARD, each with its reason; an exception that
no longer occurs fails too, so the list only shrinks. See docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aisec_pipeline"

# Lowest first. Module-name prefixes (dotted, without "aisec_pipeline.").
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("", "verdict", "clock", "lazy", "kind_names", "exits")),
    ("foundation", ("inventory", "trust", "judge",
                    "scanning.pickle_policy")),  # the pickled-type allowlist registry entries are checked against
    ("policy", ("governance.policy", "governance.policy_trust", "governance.regulations",
                "evidence_kinds",
                "provenance.sources")),  # the source-allowlist matcher the policy declares
    ("domains", ("scanning", "provenance", "cards", "fairness", "redteam", "governance", "binding")),
    ("composition", ("assessments", "ci_reports", "governance.decision", "governance.pack",
                     "governance.regulatory")),
    ("shell", ("orchestration",)),
    ("entry", ("cli", "definitions", "defs", "*command")),  # `aisec` adapters: *.command, *_command
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)} | {"unassigned": -1}

# (importer, imported): why it is still upward. Remove an entry when its import goes.
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("evidence_kinds", "assessments"):
        "each registered kind binds its measurement with a lazy import inside its assess "
        "function; splitting the kinds' names (policy layer) from their measurements "
        "(composition) would remove it",
}


def module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(PACKAGE).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> str:
    if module.split(".")[-1].endswith("command"):
        return "entry"
    best, best_len = "unassigned", -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or (prefix and module.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    return best


def resolve(name: str) -> str | None:
    while name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> set[str]:
    """Every aisec_pipeline module `module` imports, at top level or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("aisec_pipeline"):
                prefix = node.module.removeprefix("aisec_pipeline").lstrip(".")
            else:
                continue
            names = [f"{prefix}.{alias.name}".lstrip(".") for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.removeprefix("aisec_pipeline").lstrip(".") for a in node.names
                     if a.name.startswith("aisec_pipeline")]
        for name in names:
            target = resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


EDGES = {(module, target) for module in MODULES for target in imports_of(module)}


def upward() -> dict[tuple[str, str], str]:
    return {(a, b): f"{a} ({layer_of(a)}) imports {b} ({layer_of(b)})"
            for a, b in EDGES if RANK[layer_of(b)] > RANK[layer_of(a)]}


def test_every_module_has_a_layer() -> None:
    """A new package must be placed in LAYERS (and docs/architecture.md), never defaulted."""
    assert not [m for m in MODULES if layer_of(m) == "unassigned"]


def test_imports_only_point_down() -> None:
    unexpected = {edge: text for edge, text in upward().items() if edge not in KNOWN_UPWARD}
    assert not unexpected, "\n".join(sorted(unexpected.values()))


def test_known_exceptions_still_exist() -> None:
    gone = set(KNOWN_UPWARD) - set(upward())
    assert not gone, f"no longer upward, remove from KNOWN_UPWARD: {sorted(gone)}"


def test_domain_packages_form_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for a, b in EDGES:
        if layer_of(a) == layer_of(b) == "domains" and a.split(".")[0] != b.split(".")[0]:
            graph.setdefault(a.split(".")[0], set()).add(b.split(".")[0])

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph.get(start, ()))
    cycles = sorted(p for p in graph if reaches(p, p, set()))
    assert not cycles, f"domain packages in an import cycle: {cycles}: {graph}"


def test_the_walk_sees_imports_inside_functions() -> None:
    """The test itself can fail: evidence_kinds imports assessments only inside functions."""
    assert ("evidence_kinds", "assessments") in EDGES
    assert layer_of("scanning.command") == "entry" and layer_of("governance.decision") == "composition"


@pytest.mark.parametrize("module", ["scanning", "cards", "fairness", "redteam", "provenance"])
def test_core_packages_never_import_dagster(module: str) -> None:
    """The plain core never imports Dagster (the `aisec` adapters of the shell may)."""
    for name, path in MODULES.items():
        if name.split(".")[0] == module and layer_of(name) != "entry":
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                assert not any(n.split(".")[0] == "dagster" for n in names), name
