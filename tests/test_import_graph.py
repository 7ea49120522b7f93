"""The packages import each other in one direction only: no cycle among their modules (imports
at module level and inside functions alike), and the runtime never imports the training code.
Every module is imported by its installed name (fer_live.engines, ...), never by its folder's."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("engines", "realtime", "train", "benchmarks")  # install as fer_live.<folder>
PACKAGES = (*FOLDERS, "fer_live")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[0] in FOLDERS:
        parts = ("fer_live", *parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            targets.update(f for f in found if f in modules and f != name)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle():
    cycle = _cycle(_imports())
    assert cycle is None, " -> ".join(cycle)


def test_runtime_packages_never_import_training_code():
    graph = _imports()
    runtime = [m for m in graph if not m.startswith(("fer_live.train", "fer_live.benchmarks"))]
    offenders = {m: sorted(t for t in graph[m] if t.startswith("fer_live.train")) for m in runtime}
    assert not {m: t for m, t in offenders.items() if t}


def test_code_imports_the_folders_only_by_their_installed_names():
    """`from engines.x import y` would run in a checkout (its root is on sys.path) and fail from
    the wheel, or load a second copy of the module beside fer_live.engines.x."""
    offenders = []
    for path in [p for pkg in (*PACKAGES, "tests") for p in (ROOT / pkg).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FOLDERS]
    assert not offenders
