"""The shape of the code: no import cycles, no private names imported across modules, layers one way.

The import graph is read from the source (``ast``), so a cycle hidden behind a function-level
import counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

from core.settings import PROJECT_ROOT

PACKAGES = ["core", "bot", "actions", "console", "website", "ops"]
# Who may import whom: a package imports only the layers listed for it (and itself).
LAYERS: Dict[str, Set[str]] = {
    "core": set(),
    "bot": {"core"},
    "actions": {"core"},
    # The console previews answers with the assistant's own answer module (actions/answers.py).
    "console": {"core", "actions"},
    "website": {"core", "console"},
    "ops": {"core", "console", "website"},
}


def modules() -> Dict[str, Path]:
    found: Dict[str, Path] = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(name: str, path: Path, known: Dict[str, Path]) -> List[Tuple[str, List[str]]]:
    """``(module, names)`` for every import of a project module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: List[Tuple[str, List[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if base.split(".")[0] not in PACKAGES:
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
            found += [(module, []) for module in submodules]
            found.append((base, [n for n in names if f"{base}.{n}" not in known]))
    return found


def graph() -> Dict[str, Set[str]]:
    known = modules()
    return {
        name: {m for m, _ in imports(name, path, known) if m in known and m != name} for name, path in known.items()
    }


def test_no_import_cycles():
    edges = graph()
    state: Dict[str, int] = {}
    cycles: List[List[str]] = []

    def visit(node: str, stack: List[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_private_name_is_imported_from_another_module():
    known = modules()
    private = [
        f"{name}: from {module} import {n}"
        for name, path in known.items()
        for module, names in imports(name, path, known)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert private == []


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package):
    known = modules()
    wrong = sorted(
        f"{name} imports {module}"
        for name, path in known.items()
        if name.split(".")[0] == package
        for module, _ in imports(name, path, known)
        if module.split(".")[0] not in LAYERS[package] | {package}
    )
    assert wrong == []


def test_tests_share_code_through_tests_support_only():
    """A test file imported by another runs its tests twice and ties the two together; shared code
    lives in tests/support/."""
    wrong = []
    for path in sorted((PROJECT_ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            wrong += [f"{path.relative_to(PROJECT_ROOT)}: {n}" for n in names if n.split(".")[-1].startswith("test_")]
    assert wrong == []


def test_every_top_level_folder_is_described_in_the_readme():
    """A newcomer reads what each folder is for in the README's table of the tree."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    folders = sorted({line.split("/")[0] for line in tracked.stdout.splitlines() if "/" in line} - {".ci"})
    missing = [name for name in folders if f"| `{name}/" not in readme]
    assert missing == []
