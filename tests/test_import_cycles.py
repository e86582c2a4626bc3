"""The module graphs of corral.web and corral.server: no import cycles, and
corral.web's HTTP layer (``corral.web.http`` and ``corral.web.routing``) never
imports the app layer.

The graph is read from the source with ``ast``. The load graph has an edge for every
import a module runs when it is loaded (top level, including inside ``if``/``try``,
but not under ``if TYPE_CHECKING``); it must have no cycle. The run graph adds the
imports inside functions: it must have no cycle either, so an import is never put
in a function only to dodge one; the few that stay there for another reason and
close a cycle are listed in ``CALL_TIME_CYCLE_EDGES``. The layering check reads
every import, those for type checking included.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "corral"
WEB = SRC / "web"
HTTP_LAYER = ("corral.web.http", "corral.web.routing")

# Imports inside functions that would close a cycle at load time, each kept there
# for a reason other than the cycle (importer -> imported).
CALL_TIME_CYCLE_EDGES = {
    # ``Scaffold.cli`` loads the cli module (and click) on first use, not with every
    # app; the cli module finds apps by their class, ``App``, a Scaffold.
    ("corral.web.scaffold", "corral.web.cli"),
    # ``App.test_client``/``test_cli_runner``/``test_request_context`` load the test
    # tools only when tests use them; the test CLI runner needs the cli module.
    ("corral.web.app", "corral.web.testing"),
    # An HTTP error is answered with a Response, and the response machinery (input
    # streams, ranges, request parsing) raises HTTP errors; Werkzeug resolves the
    # pair the same way, in ``HTTPException.get_response``.
    ("corral.web.http.exceptions", "corral.web.http.response"),
}


def _module_name(path: Path) -> str:
    parts = ["corral", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str = "web") -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / package).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(body: list[ast.stmt], *, which: str) -> list[ast.Import | ast.ImportFrom]:
    """Import statements of a module: those run when it loads (``"load"``), those
    also run later inside functions (``"run"``), or all of them (``"all"``)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            if which == "all" or not _is_type_checking(node.test):
                found.extend(_import_nodes(node.body, which=which))
            found.extend(_import_nodes(node.orelse, which=which))
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found.extend(_import_nodes(block, which=which))
        elif which != "load":
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    found.extend(_import_nodes([b for b in block if isinstance(b, ast.AST)], which=which))
        elif isinstance(node, (ast.With, ast.For, ast.While, ast.ClassDef)):
            found.extend(_import_nodes(node.body, which=which))
    return found


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    """The modules of the package being read that an import statement loads."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        candidates = [a.name for a in node.names]
    else:
        if node.level:
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        candidates = [base, *(f"{base}.{a.name}" for a in node.names)]
    for candidate in candidates:
        # a package's __init__ runs too, from corral.web (corral.server) down
        parts = candidate.split(".")
        for i in range(3, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in modules:
                out.add(prefix)
    # a module's own packages are loaded before it: no edge back to them
    return {m for m in out if m != name and not name.startswith(m + ".")}


def _graph(which: str, package: str = "web") -> dict[str, set[str]]:
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        edges: set[str] = set()
        for node in _import_nodes(tree.body, which=which):
            edges |= _targets(name, path, node, modules)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read() -> None:
    graph = _graph("load")
    assert "corral.web.http.request" in graph["corral.web.wrappers"]
    assert "corral.web.routing.map" in graph["corral.web.routing"]
    server = _graph("load", "server")
    assert "corral.server.http.environ" in server["corral.server.http.cycle"]


def test_the_server_has_no_import_cycles() -> None:
    """corral.server: no cycle when modules load, nor through imports inside functions."""
    assert _cycles(_graph("load", "server")) == []
    assert _cycles(_graph("run", "server")) == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph("load")) == []


def test_no_import_cycles_at_call_time() -> None:
    """Imports inside functions close no cycle, but for the listed ones."""
    graph = _graph("run")
    for importer, imported in CALL_TIME_CYCLE_EDGES:
        graph[importer].discard(imported)
    assert _cycles(graph) == []


def test_the_listed_call_time_imports_are_needed() -> None:
    """Every listed edge is an import inside a function that closes a cycle."""
    load, run = _graph("load"), _graph("run")
    for importer, imported in sorted(CALL_TIME_CYCLE_EDGES):
        assert imported in run[importer] and imported not in load[importer], (importer, imported)
        graph = {name: set(edges) for name, edges in run.items()}
        graph[importer] = {imported}
        assert any(importer in c and imported in c for c in _cycles(graph)), (importer, imported)


def test_the_run_graph_sees_imports_in_functions() -> None:
    run = _graph("run")
    assert "corral.web.cli" in run["corral.web.scaffold"]
    assert "corral.web.cli" not in _graph("load")["corral.web.scaffold"]


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_http_layer_never_imports_the_app_layer() -> None:
    offenders = []
    for name, edges in _graph("all").items():
        if not name.startswith(HTTP_LAYER):
            continue
        for target in sorted(edges):
            if target.startswith("corral.web.") and not target.startswith(HTTP_LAYER):
                offenders.append(f"{name} imports {target}")
    assert not offenders, offenders
