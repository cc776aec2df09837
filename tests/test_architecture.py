"""The app's module graph has no cycle (imports inside functions counted), and the emulator
stays free of Django, so tests and benchmarks can start it anywhere."""
from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "videos"


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(APP.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of the app ``module`` imports, anywhere in its body."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            # ``from .pkg import name``: the submodule if ``name`` is one, else the package itself
            names = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_the_apps_modules():
    modules = _modules()
    graph = {module: _imports(module, path, modules) for module, path in modules.items()}
    assert _cycles(graph) == []


def test_the_emulator_imports_neither_django_nor_the_rest_of_the_app():
    for path in (APP / "emulator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                name = node.module
            elif isinstance(node, ast.Import):
                name = node.names[0].name
            else:
                continue
            assert not name.startswith("django"), path
            assert not name.startswith("videos.") or name.startswith(("videos.emulator", "videos.presets")), (path, name)


def test_no_module_of_the_app_is_over_450_lines():
    long = {str(path.relative_to(APP)): n for path in APP.rglob("*.py")
            if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > 450}
    assert long == {}


def test_the_admin_and_the_gallery_share_the_domain_not_each_other():
    """Both surfaces are views over the same domain modules; neither imports the other, so
    a rule or a label lives below them and cannot drift between the two."""
    modules = _modules()
    crossing = {
        (module, target)
        for module, path in modules.items()
        for target in _imports(module, path, modules)
        if (module.startswith("videos.admin") and target.startswith("videos.views"))
        or (module.startswith("videos.views") and target.startswith("videos.admin"))
    }
    assert crossing == set()


def test_the_surfaces_never_queue_work_themselves():
    """The admin, the gallery views and the CLI call services; what gets queued, and when,
    is decided below them (services, sequences, webhooks, the pipeline)."""
    modules = _modules()
    surfaces = ("videos.admin", "videos.views", "videos.cli", "videos.management")
    queueing = {module for module, path in modules.items() if module.startswith(surfaces)
                and {"videos.queue", "videos.tasks"} & _imports(module, path, modules)}
    assert queueing == set()
