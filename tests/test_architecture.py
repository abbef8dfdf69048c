"""tuning/'s imports point one way: down the layers, with no cycle (read from the code's AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TUNING = Path(__file__).resolve().parents[1] / "tuning"
# Bottom to top. A module may import its own package and any layer below; packages that
# share a rank (the retraining commands and bench) do not import each other.
RANKS = {
    "basics": 0,  # the modules directly under tuning/: config, data, experiment, errors, ...
    "store": 1,
    "engine": 2,
    "reports": 3,
    "distributed": 4,
    "retrain": 5,
    "bench": 5,
    "commands": 6,
    "cli": 7,
    "api": 7,  # tuning.tune, the notebook's face of the same commands: a peer of the CLI
    "__main__": 8,
}
BASICS = {
    "__init__",
    "__main__",
    "backend",
    "cifar",
    "config",
    "data",
    "errors",
    "experiment",
    "folders",
    "hardware",
    "idx",
    "interrupts",
    "layout",
    "objective",
    "pins",
    "settings",
    "sources",
    "trialstate",
}


def module_name(path: Path) -> str:
    """`tuning.engine.search` for tuning/engine/search.py; `tuning.engine` for its __init__."""
    parts = path.relative_to(TUNING.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(TUNING.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer a module belongs to: its subpackage, or basics directly under tuning/."""
    parts = module.split(".")
    if len(parts) > 1 and (TUNING / parts[1]).is_dir():
        return parts[1]
    return "__main__" if module == "tuning.__main__" else "basics"


def imports(module: str) -> set[str]:
    """The tuning modules `module` imports anywhere in its code, lazy imports included."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: imports(module) for module in MODULES}
# The one import that points up: the package's __init__ hands out `tuning.tune`, the
# notebook's face (tuning.api), on first use, as `import tuning; tuning.tune(...)` reads.
GRAPH["tuning"] = {m for m in GRAPH["tuning"] if not m.startswith("tuning.api")}


def test_the_tree_is_what_the_layers_name():
    # No module left at an old path: directly under tuning/ live only the basics.
    top = {p.stem for p in TUNING.glob("*.py")}
    assert top == BASICS
    packages = {p.name for p in TUNING.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(RANKS) - {"basics", "__main__"}
    for package in packages:  # each says what it is for, in a paragraph
        doc = ast.get_docstring(ast.parse((TUNING / package / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 20, package


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    here = layer(module)
    upward = [
        f"{module} ({here}) imports {other} ({layer(other)})"
        for other in sorted(GRAPH[module])
        if other != "tuning"  # the package itself: its __init__ sets the environment up
        and layer(other) != here
        and RANKS[layer(other)] >= RANKS[here]
    ]
    assert upward == []


def test_no_module_imports_itself_through_others():
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for other in sorted(GRAPH[module]):
            if other in path:
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in done:
                visit(other, [*path, other])
        done.add(module)

    done: set[str] = set()
    for module in sorted(MODULES):
        if module not in done:
            visit(module, [module])
    assert cycles == []
