"""Imports point down the layers of LAYOUT.md (/work/shared/design/), and every module has one.

Why: the tree is meant to show the architecture, and that holds only while the imports agree
with it: the toolkit runs without the typed layer or cattrs, the typed model stays free of HTTP
objects, and the facades stay lazy. So every module is parsed (with ``ast``, importing nothing)
and each import of ``framework.*`` / ``testing.*`` is checked against TABLE, a copy of the
"Layers" table in LAYOUT.md: change both together. Imports under ``if TYPE_CHECKING:`` never
run and are ignored; imports inside functions run later, and count, as do
``importlib.import_module("...")`` calls. The one upward edge allowed is a lazy re-export: a
module-level ``__getattr__`` (PEP 562) handing out a higher module's names, as
``framework.exceptions`` does for the typed layer's 422 model.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple, TypeGuard

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("framework", "testing")
HINT = "place it in the table in tests/test_layers.py and in LAYOUT.md (Layers)"

# LAYOUT.md "Layers", a row per line: the layer, then its modules ("framework." left off; "*" ok).
TABLE = """
0 types status exceptions _json _utils _keys concurrency convertors config datastructures
1 formparsers requests background responses sse websockets
2 _exception_handlers middleware middleware.* routing staticfiles templating authentication
3 typed typed.params typed.constraints typed.plan typed.errors typed._typeinfo typed.converter
3 typed.text
4 typed.signature typed.forms typed.invoke typed.jsonschema typed.openapi
5 endpoints typed.resources applications contrib contrib.*
6 __main__ cli
"""
LAYERS = {name: int(row.split()[0]) for row in TABLE.split("\n") for name in row.split()[1:]}
# The same layer or a lower one; the typed model (layer 3) uses the leaves (layer 0) only.
ALLOWED: dict[int, set[int]] = {n: set(range(n + 1)) for n in LAYERS.values()} | {3: {0, 3}}
LAZY_FACADES = {"framework", "testing"}  # exempt, but no top-level imports of our modules
# The test client uses framework layers 0-1; the fuzz harness layers 0, 1, 3 and applications.
TESTING_CLIENT = "client _asgi _exchange _lifespan _scope _transport _websocket"
TESTING_HARNESS = "strategies _wire checks stateful fuzz report pytest_plugin"
CLIENT = {f"testing.{m}" for m in TESTING_CLIENT.split()}
HARNESS = {f"testing.{m}" for m in TESTING_HARNESS.split()}


class Edge(NamedTuple):
    source: str
    path: Path
    line: int
    target: str
    top_level: bool  # runs when the source module is imported (not deferred into a function)
    reexport: bool = False  # inside a module-level __getattr__: names handed out on first use


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def find_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def is_type_checking(node: ast.AST) -> TypeGuard[ast.If]:
    names = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
    return isinstance(node, ast.If) and ast.unparse(node.test) in names


def import_targets(node: ast.Import | ast.ImportFrom, package: str, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolved against the file's package
        parts = package.split(".")
        base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
    # `from framework.typed import converter` imports the module framework.typed.converter.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def dynamic_import(node: ast.AST) -> str | None:
    """The module of an ``importlib.import_module("literal")`` call."""
    if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "importlib.import_module"):
        return None
    first = node.args[0] if node.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def find_edges(module: str, path: Path, known: set[str]) -> list[Edge]:
    """Every import of one of our modules in ``path``, outside ``if TYPE_CHECKING:``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    reexporters = {
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
    }
    edges: list[Edge] = []

    def add(targets: list[str], node: ast.AST, top_level: bool, reexport: bool) -> None:
        for target in dict.fromkeys(targets):
            if target.partition(".")[0] in PACKAGES and target != module:
                where = path.relative_to(ROOT), getattr(node, "lineno", 0)
                edges.append(Edge(module, *where, target, top_level, reexport))

    def visit(node: ast.AST, top_level: bool, reexport: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            top_level = False
            reexport = reexport or node in reexporters
        if isinstance(node, ast.Import | ast.ImportFrom):
            add(import_targets(node, package, known), node, top_level, reexport)
        elif (target := dynamic_import(node)) is not None:
            add([target], node, top_level, reexport)
        # Under `if TYPE_CHECKING:` only the else branch runs.
        for child in node.orelse if is_type_checking(node) else ast.iter_child_nodes(node):
            visit(child, top_level, reexport)

    visit(tree, True, False)
    return edges


def layer(module: str) -> int | None:
    if not module.startswith("framework."):
        return None
    name = module.removeprefix("framework.")
    return next((n for pattern, n in LAYERS.items() if fnmatchcase(name, pattern)), None)


def describe(module: str) -> str:
    if module in LAZY_FACADES:
        return "the lazy facade"
    if module in CLIENT:
        return "the test client (uses framework layers 0-1)"
    if module in HARNESS:
        return "the fuzz harness (uses layers 0, 1, 3 and framework.applications)"
    n = layer(module)
    return "no layer" if n is None else f"layer {n}"


def allowed(source: str, target: str) -> bool:
    if target in LAZY_FACADES:
        return False  # import a name from the module that defines it, not from the facade
    if source in CLIENT:
        return target in CLIENT or layer(target) in {0, 1}
    if source in HARNESS:
        applications = target == "framework.applications"
        return within(target, "testing") or applications or layer(target) in {0, 1, 3}
    source_layer = layer(source)
    return source_layer is None or layer(target) in ALLOWED[source_layer]


def problem(edge: Edge) -> str | None:
    where = f"{edge.path}:{edge.line} imports {edge.target}"
    if edge.source == "framework.types":
        return f"{where} outside `if TYPE_CHECKING:`; types.py imports names for annotations only"
    if edge.source in LAZY_FACADES:
        top = f"{where} at the top level of a lazy facade; import it on first use (__getattr__)"
        return top if edge.top_level else None
    if edge.reexport or allowed(edge.source, edge.target):
        return None
    return f"{where} ({describe(edge.target)}) from {describe(edge.source)}"


def test_every_module_has_a_layer() -> None:
    unplaced = [
        f"{path.relative_to(ROOT)} ({module}) is in no layer: {HINT}"
        for module, path in find_modules().items()
        if module not in LAZY_FACADES | CLIENT | HARNESS and layer(module) is None
    ]
    if unplaced:
        pytest.fail("\n".join(unplaced))


def test_imports_point_down_the_layers() -> None:
    modules = find_modules()
    problems = [
        text
        for module, path in modules.items()
        for edge in find_edges(module, path, set(modules))
        if (text := problem(edge)) is not None
    ]
    if problems:
        pytest.fail("\n".join(problems))


def test_no_import_cycle_among_framework_modules() -> None:
    modules = {m: p for m, p in find_modules().items() if within(m, "framework")}
    graph = {
        module: sorted({e.target for e in find_edges(module, path, set(modules)) if e.top_level})
        for module, path in modules.items()
    }
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:  # its cycle lists each import after its importer's
        pytest.fail("import cycle at import time: " + " -> ".join(reversed(error.args[1])))


def loaded_by(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_toolkit_imports_load_no_typed_layer() -> None:
    problems: list[str] = []
    for statement in ("import framework.requests", "import framework"):
        heavy = [m for m in loaded_by(statement) if within(m, "framework.typed") or m == "cattrs"]
        if heavy:
            problems.append(f"`{statement}` loads {', '.join(heavy)}")
    if problems:
        pytest.fail("\n".join(problems))
