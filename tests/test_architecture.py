"""The package's stages import one way: no cycles, no import from a later stage, a leaf types
module, and every module's first line naming its stage.

Every import counts: top-level, deferred (inside a function) and TYPE_CHECKING-only ones,
because a deferred import still ties the stages together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

# Stage of each top-level module or subpackage: a module may import its own stage and earlier
# ones only. Within the base, types imports nothing at all (checked below).
STAGES = {
    "types": 0, "lexicon": 0, "text": 0, "prompts": 0, "config": 0,
    "ingest": 1,
    "cases": 2,
    "index": 3,
    "retrieval": 4,
    "answering": 5,
    "pipeline": 6,
    "planner": 7, "guide_draft": 7, "feedback": 7, "conversations": 7, "server": 7,
    "cli": 8,
    "": 9,                  # assistant/__init__.py: the public facade over everything
}
STAGE_LABELS = {0: "Base", 1: "Ingest", 2: "Cases", 3: "Index", 4: "Retrieval", 5: "Answering",
                6: "Pipeline", 7: "App", 8: "App"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Return the package modules `name` imports, resolved to modules (not names)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "assistant")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "assistant":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
    found.discard(name)
    return {m for m in found if m in MODULES}


GRAPH = {name: imports_of(name) for name in MODULES}


def stage_of(name: str) -> int:
    parts = name.split(".")
    return STAGES[parts[1] if len(parts) > 1 else ""]


def test_every_module_has_a_stage():
    assert all(stage_of(name) is not None for name in MODULES)


def test_no_module_imports_a_later_stage():
    upward = [f"{name} -> {dep}" for name, deps in GRAPH.items() for dep in sorted(deps)
              if stage_of(dep) > stage_of(name)]
    assert not upward, "imports from a later stage:\n" + "\n".join(upward)


def test_the_package_has_no_import_cycle():
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    cycles: list[str] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(GRAPH[name]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*path[path.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_types_module_imports_nothing_from_the_package():
    assert GRAPH["assistant.types"] == set()


@pytest.mark.parametrize("name", [n for n in MODULES if n != "assistant"])
def test_each_module_first_line_names_its_stage(name):
    doc = ast.get_docstring(ast.parse(MODULES[name].read_text(encoding="utf-8"))) or ""
    assert doc.startswith(STAGE_LABELS[stage_of(name)] + ":"), doc.split("\n")[0]


def test_the_checker_sees_deferred_and_type_checking_imports(tmp_path, monkeypatch):
    # The walk must not stop at top-level statements: an import inside a function or under
    # TYPE_CHECKING that went upward would otherwise pass unseen.
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    from assistant.pipeline import Assistant\n"
              "def f():\n    from assistant.answering import base\n")
    fake = tmp_path / "assistant" / "ingest" / "probe.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source, encoding="utf-8")
    monkeypatch.setitem(MODULES, "assistant.ingest.probe", fake)
    monkeypatch.setattr("tests.test_architecture.PACKAGE", tmp_path / "assistant")
    assert imports_of("assistant.ingest.probe") == {"assistant.pipeline",
                                                    "assistant.answering.base"}


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Return the top-level package names a module imports when it runs (TYPE_CHECKING-only
    imports left out)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_only_the_store_module_talks_to_chroma():
    # The vector-store boundary: every chromadb (and langchain-chroma) call is in
    # index/store.py; the rest of the package asks the index.
    talking = [name for name, path in MODULES.items()
               if {"chromadb", "langchain_chroma"} & _runtime_imports(ast.parse(path.read_text()))]
    assert talking == ["assistant.index.store"]
