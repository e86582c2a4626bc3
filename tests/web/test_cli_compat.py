"""The CLI pieces Flask's own tests exercise, checked on corral.web directly."""

from __future__ import annotations

import os
import platform
import ssl
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from corral.web import App, current_app, request
from corral.web.cli import FlaskGroup, ScriptInfo, get_version, run_command


def test_get_version_names_python_corral_and_werkzeug() -> None:
    out: list[str] = []

    class Ctx:
        resilient_parsing = False
        color = None

        def exit(self) -> None:
            out.append("exit")

    runner = CliRunner()
    with runner.isolation() as (stdout, _err, *_rest):
        get_version(Ctx(), None, True)  # type: ignore[arg-type]
        text = stdout.getvalue().decode()
    assert f"Python {platform.python_version()}" in text
    assert "corral " in text and "Werkzeug " in text and out == ["exit"]


@pytest.mark.parametrize("host_matching", [False, True])
def test_routes_show_the_domain_column_when_rules_have_one(host_matching: bool) -> None:
    app = App(__name__, static_folder=None, host_matching=host_matching)
    key = "host" if host_matching else "subdomain"
    app.add_url_rule("/a", endpoint="a", **{key: "a"})
    app.add_url_rule("/b", endpoint="b", **{key: "b"})
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["routes", "-s", "domain"])
    assert result.exit_code == 0
    header = result.output.splitlines()[0].split()
    assert header == ["Endpoint", "Methods", "Host" if host_matching else "Subdomain", "Rule"]


@pytest.mark.parametrize("set_debug_flag", [True, False])
def test_set_debug_flag_applies_the_environment(set_debug_flag: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLASK_DEBUG", "CORRAL_DEBUG"):
        monkeypatch.delenv(name, raising=False)

    def create_app() -> App:
        app = App("dbg")
        app.debug = True
        return app

    @click.group(cls=FlaskGroup, create_app=create_app, set_debug_flag=set_debug_flag)
    def cli(**params: Any) -> None:
        pass

    @cli.command()
    def show() -> None:
        click.echo(str(current_app.debug))

    assert CliRunner().invoke(cli, ["show"]).output == f"{not set_debug_flag}\n"


def test_skip_dotenv_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dotenv")
    (tmp_path / ".env").write_text("CORRAL_TEST_DOTENV_VALUE=loaded\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CORRAL_TEST_DOTENV_VALUE", raising=False)
    monkeypatch.setenv("FLASK_SKIP_DOTENV", "1")
    CliRunner().invoke(FlaskGroup(), [])
    assert "CORRAL_TEST_DOTENV_VALUE" not in os.environ


def test_cert_option_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(click.BadParameter):
        run_command.make_context("run", ["--cert", __file__])  # a file needs --key
    ctx = run_command.make_context("run", ["--cert", __file__, "--key", __file__])
    assert ctx.params["cert"] == (__file__, __file__)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    monkeypatch.setitem(sys.modules, "cert_ctx_module", context)
    assert run_command.make_context("run", ["--cert", "cert_ctx_module"]).params["cert"] is context
    with pytest.raises(click.BadParameter):
        run_command.make_context("run", ["--cert", "cert_ctx_module", "--key", __file__])
    monkeypatch.setitem(sys.modules, "ssl", None)
    with pytest.raises(click.BadParameter, match="SSL support"):
        run_command.make_context("run", ["--cert", "nothing_here"])


def test_missing_app_message_names_flask_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("FLASK_APP", "CORRAL_APP"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(Exception, match="FLASK_APP"):
        ScriptInfo().load_app()


def test_files_key_of_a_form_field_explained_in_debug_mode() -> None:
    from corral.web.debughelpers import DebugFilesKeyError

    app = App(__name__)
    app.debug = True
    app.testing = True

    @app.post("/")
    def index() -> str:
        try:
            request.files["f"]
        except DebugFilesKeyError:
            return "explained"
        return "no"

    assert app.test_client().post("/", data={"f": "x"}).text == "explained"
    app.debug = False
    with pytest.raises(KeyError):
        with app.test_request_context("/", method="POST", data={"f": "x"}):
            request.files["f"]
