"""The corral-web command line: app discovery, built-in and app commands, run."""

from __future__ import annotations

import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from corral.web import App, current_app
from corral.web.cli import (
    AppGroup,
    NoAppException,
    ScriptInfo,
    cli,
    find_best_app,
    locate_app,
    prepare_import,
    with_appcontext,
)
from tests.support import ServerProcess

_ids = count()
ENV_NAMES = (
    "CORRAL_APP", "FLASK_APP", "CORRAL_DEBUG", "FLASK_DEBUG",
    "CLI_TEST_FROM_ENV", "CLI_TEST_FROM_FLASKENV",
)

APP_SOURCE = """
from corral.web import App

app = App(__name__)
app.config["WHO"] = "{who}"

@app.route("/")
def index():
    return "hello from {who}"

@app.route("/items/<int:id>", methods=["POST"])
def items(id):
    return ""

@app.cli.command("greet")
def greet():
    import click
    from corral.web import current_app
    click.echo("greetings from " + current_app.config["WHO"])
"""

FACTORY_SOURCE = """
from corral.web import App

def create_app(name="factory"):
    app = App(__name__)
    app.config["WHO"] = name
    return app
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    # The CLI writes some of these into os.environ; setting then deleting them
    # through monkeypatch restores the original state afterwards.
    for name in (*ENV_NAMES, "CORRAL_RUN_FROM_CLI"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    yield tmp_path
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        if name.startswith("cliapp_"):
            del sys.modules[name]


def make_module(workdir: Path, source: str, **fmt: str) -> str:
    name = f"cliapp_{next(_ids)}"
    (workdir / f"{name}.py").write_text(textwrap.dedent(source.format(**fmt) if fmt else source))
    return name


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_app_option_and_app_command(workdir: Path) -> None:
    mod = make_module(workdir, APP_SOURCE, who="opt")
    rv = invoke("--app", mod, "greet")
    assert rv.exit_code == 0, rv.output
    assert rv.output == "greetings from opt\n"


def test_env_vars_name_the_app(workdir: Path) -> None:
    mod = make_module(workdir, APP_SOURCE, who="env")
    for var in ("CORRAL_APP", "FLASK_APP"):
        rv = invoke("greet", env={var: f"{mod}:app"})
        assert rv.output == "greetings from env\n", var


def test_factory_forms(workdir: Path) -> None:
    mod = make_module(workdir, FACTORY_SOURCE)
    info = ScriptInfo(app_import_path=mod)
    assert info.load_app().config["WHO"] == "factory"
    info = ScriptInfo(app_import_path=f"{mod}:create_app('named')")
    assert info.load_app().config["WHO"] == "named"
    info = ScriptInfo(app_import_path=f"{mod}:create_app(name='kw')")
    assert info.load_app().config["WHO"] == "kw"
    with pytest.raises(NoAppException, match="parse"):
        ScriptInfo(app_import_path=f"{mod}:create_app(1 + x)").load_app()


def test_file_path_and_default_files(workdir: Path) -> None:
    pkg = workdir / "pkgdir" / "cliapp_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "web.py").write_text(APP_SOURCE.format(who="file"))
    assert prepare_import(str(pkg / "web.py")) == "cliapp_pkg.web"
    assert str(workdir / "pkgdir") in sys.path
    rv = invoke("--app", str(pkg / "web.py"), "greet")
    assert rv.output == "greetings from file\n"

    (workdir / "wsgi.py").write_text(APP_SOURCE.format(who="wsgi"))
    info = ScriptInfo()
    assert info.load_app().config["WHO"] == "wsgi"
    del sys.modules["wsgi"]


def test_discovery_errors(workdir: Path) -> None:
    with pytest.raises(NoAppException, match="Could not import 'cliapp_nope'"):
        locate_app("cliapp_nope", None)
    mod = make_module(workdir, "x = 1\n")
    with pytest.raises(NoAppException, match="Failed to find an app"):
        ScriptInfo(app_import_path=mod).load_app()
    with pytest.raises(NoAppException, match="Failed to find attribute 'y'"):
        ScriptInfo(app_import_path=f"{mod}:y").load_app()
    broken = make_module(workdir, "import cliapp_missing_dependency\n")
    with pytest.raises(NoAppException, match="ImportError was raised"):
        locate_app(broken, None)
    with pytest.raises(NoAppException, match="Could not locate an application"):
        ScriptInfo().load_app()
    rv = CliRunner().invoke(cli, ["--app", "cliapp_nope", "greet"])
    assert rv.exit_code == 2
    assert "Could not import 'cliapp_nope'" in rv.output


def test_find_best_app_rules() -> None:
    class Module:
        __name__ = "m"

    one = Module()
    one.application = App("one")  # type: ignore[attr-defined]
    assert find_best_app(one) is one.application  # type: ignore[attr-defined]
    two = Module()
    two.a, two.b = App("a"), App("b")  # type: ignore[attr-defined]
    with pytest.raises(NoAppException, match="multiple apps"):
        find_best_app(two)


def test_routes(workdir: Path) -> None:
    mod = make_module(workdir, APP_SOURCE, who="r")
    rv = invoke("--app", mod, "routes")
    lines = rv.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    assert lines[1].startswith("-----")
    assert [line.split()[0] for line in lines[2:]] == ["index", "items", "static"]
    assert any(line.startswith("index") and line.endswith("/") for line in lines)
    assert any("POST" in line and "/items/<int:id>" in line for line in lines)
    assert "HEAD" not in rv.output
    assert "HEAD" in invoke("--app", mod, "routes", "--all-methods").output
    by_rule = invoke("--app", mod, "routes", "-s", "rule").output.splitlines()[2:]
    assert by_rule[0].split()[-1] == "/"


def test_shell_has_app_in_context(workdir: Path) -> None:
    mod = make_module(workdir, APP_SOURCE, who="sh")
    rv = CliRunner().invoke(cli, ["--app", mod, "shell"], input="print(app.config['WHO'])\n")
    assert rv.exit_code == 0, rv.output
    assert ">>> sh\n" in rv.output
    assert "App: cliapp_" in rv.output


def test_app_group_and_with_appcontext() -> None:
    app = App("grouped")
    app.config["WHO"] = "grouped"
    sub = AppGroup("sub")

    @sub.command()
    def inner() -> None:
        click.echo("inner " + current_app.config["WHO"])

    @sub.command(with_appcontext=False)
    def bare() -> None:
        click.echo("bare " + str(bool(current_app)))

    @click.command()
    @with_appcontext
    def plain() -> None:
        click.echo("plain " + current_app.name)

    app.cli.add_command(sub)
    app.cli.add_command(plain)

    @app.cli.group()
    def nested() -> None:
        pass

    @nested.command()
    def deep() -> None:
        click.echo("deep " + current_app.name)

    runner = app.test_cli_runner()
    assert runner.invoke(args=["sub", "inner"]).output == "inner grouped\n"
    assert runner.invoke(args=["sub", "bare"]).output == "bare False\n"
    assert runner.invoke(args=["plain"]).output == "plain grouped\n"
    assert runner.invoke(args=["nested", "deep"]).output == "deep grouped\n"
    assert isinstance(nested, AppGroup)


def test_dotenv_files(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dotenv")
    mod = make_module(workdir, APP_SOURCE, who="dotenv")
    (workdir / ".flaskenv").write_text(f"FLASK_APP={mod}\nCLI_TEST_FROM_FLASKENV=1\n")
    (workdir / ".env").write_text("CLI_TEST_FROM_ENV=yes\nCLI_TEST_FROM_FLASKENV=2\n")
    rv = invoke("greet")
    assert rv.output == "greetings from dotenv\n"
    import os

    assert os.environ["CLI_TEST_FROM_ENV"] == "yes"
    assert os.environ["CLI_TEST_FROM_FLASKENV"] == "2"  # .env wins over .flaskenv


def test_debug_flag(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = make_module(workdir, APP_SOURCE + "\n@app.cli.command('dbg')\ndef dbg():\n"
                      "    import click\n    click.echo(app.debug)\n", who="d")
    assert invoke("--app", mod, "--debug", "dbg").output == "True\n"
    assert invoke("--app", mod, "--no-debug", "dbg").output == "False\n"


def _get(port: int, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as rv:
        return rv.read()  # type: ignore[no-any-return]


@pytest.mark.timeout(60)
def test_run_serves_with_corral(tmp_path: Path) -> None:
    # a module that calls app.run() when imported must not start a second server
    (tmp_path / "cliapp_served.py").write_text(APP_SOURCE.format(who="server") + "\napp.run()\n")
    command = [sys.executable, "-m", "corral.web.cli"]
    args = ["--app", "cliapp_served", "run", "--port", "0", "--", "-k", "sync"]
    with ServerProcess(args, cwd=tmp_path, command=command) as srv:
        assert _get(srv.port) == b"hello from server"
        assert "Serving app 'cliapp_served'" in srv.output()


@pytest.mark.timeout(10)
def test_app_run_returns_at_once_under_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.web import App

    monkeypatch.setenv("CORRAL_RUN_FROM_CLI", "true")
    assert App(__name__).run(port=0) is None


@pytest.mark.timeout(60)
def test_run_reload_restarts_on_change(tmp_path: Path) -> None:
    source = tmp_path / "cliapp_reload.py"
    source.write_text(APP_SOURCE.format(who="before"))
    command = [sys.executable, "-m", "corral.web.cli"]
    args = ["--app", "cliapp_reload", "run", "--port", "0", "--reload", "--", "-k", "sync"]
    with ServerProcess(args, cwd=tmp_path, command=command) as srv:
        assert _get(srv.port) == b"hello from before"
        source.write_text(APP_SOURCE.format(who="after"))
        srv.wait_for(r"Detected change in .*cliapp_reload\.py", timeout=15)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ports = srv.listen_re.findall(srv.output())
            if len(ports) >= 2:
                break
            time.sleep(0.1)
        assert len(ports) >= 2, srv.output()
        assert _get(int(ports[-1][1])) == b"hello from after"
