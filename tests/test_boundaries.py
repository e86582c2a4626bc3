"""The two halves speak only WSGI: the server never imports corral.web, and
corral.web imports the server only lazily (inside App.run and its run command)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "corral"


def _imports(tree: ast.AST, *, top_level_only: bool) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    nodes = ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif top_level_only and isinstance(node, (ast.If, ast.Try)):
            found.extend(_imports(node, top_level_only=True))
    return found


def test_server_never_imports_web() -> None:
    offenders = []
    for path in sorted((SRC / "server").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for lineno, name in _imports(tree, top_level_only=False):
            if name == "corral.web" or name.startswith("corral.web."):
                offenders.append(f"{path.relative_to(SRC)}:{lineno} imports {name}")
    assert not offenders, offenders


def test_web_imports_server_only_lazily() -> None:
    offenders = []
    for path in sorted((SRC / "web").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for lineno, name in _imports(tree, top_level_only=True):
            if name == "corral.server" or name.startswith("corral.server."):
                offenders.append(f"{path.relative_to(SRC)}:{lineno} imports {name}")
    assert not offenders, offenders


def test_importing_web_loads_no_server_module() -> None:
    code = (
        "import sys, corral.web\n"
        "bad = [m for m in sys.modules if m.startswith('corral.server')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_server_runs_without_web_framework_deps() -> None:
    """The server half must not need the framework's dependencies (jinja2 etc.)."""
    code = (
        "import sys\n"
        "for m in ('jinja2', 'itsdangerous', 'blinker', 'click'):\n"
        "    sys.modules[m] = None\n"
        "import corral.server.cli, corral.server.arbiter\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
