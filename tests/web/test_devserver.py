"""App.run() with Werkzeug's run_simple options, and `corral-web run` with
`flask run`'s flags, against a real server process."""

from __future__ import annotations

import logging
import ssl
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from corral.web.devserver import run_simple_settings, ssl_files, watched_files
from tests.support import ServerProcess

SCRIPT = """
from corral.web import App

app = App(__name__)

@app.route("/")
def index():
    return "hello from {who}"

@app.route("/boom")
def boom():
    raise RuntimeError("boom")

if __name__ == "__main__":
    app.run(port=0, {options})
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers started here must not inherit flags other tests left in os.environ
    (a CLI test sets CORRAL_RUN_FROM_CLI, which makes app.run() return at once)."""
    for name in ("CORRAL_RUN_FROM_CLI", "FLASK_RUN_FROM_CLI", "CORRAL_RUN_MAIN",
                 "WERKZEUG_RUN_MAIN", "FLASK_DEBUG", "CORRAL_DEBUG", "CORRAL_DEBUGGER"):
        monkeypatch.delenv(name, raising=False)


def _fetch(url: str, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as rv:
            return rv.status, rv.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _script(tmp_path: Path, name: str, options: str, who: str = "run") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(SCRIPT.format(options=options, who=who)))
    return path


def test_run_simple_options_are_mapped_or_ignored(caplog: pytest.LogCaptureFixture) -> None:
    options = {
        "use_reloader": False, "use_debugger": False, "use_evalex": True, "threaded": False,
        "processes": 2, "extra_files": ["a.txt"], "exclude_patterns": ["*.tmp"],
        "reloader_type": "stat", "reloader_interval": 1, "request_handler": None,
        "static_files": {"/s": "static"}, "passthrough_errors": True, "load_dotenv": False,
        "ssl_context": ("cert.pem", "key.pem"), "keepalive": 5,
    }  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="corral.web.devserver"):
        settings, dev = run_simple_settings(options, debug=True)
    assert settings == {
        "threads": 1, "workers": 2, "certfile": "cert.pem", "keyfile": "key.pem", "keepalive": 5,
    }
    assert dev == {
        "reload": False, "debugger": False, "evalex": True, "extra_files": ["a.txt"],
        "exclude_patterns": ["*.tmp"], "reloader_interval": 1.0,
        "static_files": {"/s": "static"},
    }  # fmt: skip
    ignored = " ".join(r.getMessage() for r in caplog.records)
    for name in ("request_handler", "passthrough_errors", "reloader_type"):
        assert name in ignored


def test_debug_turns_on_reloader_and_debugger_in_one_worker() -> None:
    settings, dev = run_simple_settings({}, debug=True)
    assert dev["reload"] and dev["debugger"] and settings == {"workers": 1}
    settings, dev = run_simple_settings({}, debug=False)
    assert not dev["reload"] and not dev["debugger"] and settings == {}


def test_ssl_context_forms(tmp_path: Path) -> None:
    assert ssl_files(("c.pem", "k.pem")) == ("c.pem", "k.pem")
    assert ssl_files("both.pem") == ("both.pem", None)
    certfile, keyfile = ssl_files("adhoc")
    assert Path(certfile).read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert Path(keyfile).stat().st_mode & 0o077 == 0
    with pytest.raises(ValueError, match="SSLContext"):
        ssl_files(ssl.create_default_context())
    settings, _dev = run_simple_settings({"ssl_context": ssl.create_default_context()}, False)
    assert callable(settings["when_ready"]) and "certfile" not in settings


def test_exclude_patterns_drop_watched_files(tmp_path: Path) -> None:
    (tmp_path / "keep.py").write_text("")
    (tmp_path / "skip_me.py").write_text("")
    files = watched_files([str(tmp_path)], [], ["*/skip_*"])
    assert str(tmp_path / "keep.py") in files
    assert str(tmp_path / "skip_me.py") not in files


@pytest.mark.timeout(60)
def test_app_run_accepts_werkzeug_options(tmp_path: Path) -> None:
    options = (
        "use_reloader=False, use_debugger=False, threaded=True, processes=1,"
        " passthrough_errors=True, request_handler=None, reloader_type='stat',"
        " reloader_interval=1, extra_files=[], exclude_patterns=[],"
        " static_files={'/files': 'assets'}"
    )
    script = _script(tmp_path, "plain", options)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "note.txt").write_text("static note")
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        assert _fetch(f"http://127.0.0.1:{srv.port}/") == (200, b"hello from run")
        assert _fetch(f"http://127.0.0.1:{srv.port}/files/note.txt") == (200, b"static note")
        assert _fetch(f"http://127.0.0.1:{srv.port}/boom")[0] == 500
        assert "Serving app 'plain'" in srv.output() and "Debug mode: off" in srv.output()


@pytest.mark.timeout(60)
def test_app_run_debug_serves_werkzeug_debugger(tmp_path: Path) -> None:
    script = _script(tmp_path, "debugged", "debug=True, use_reloader=False")
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        status, body = _fetch(f"http://127.0.0.1:{srv.port}/boom")
        assert status == 500
        assert b"RuntimeError: boom" in body and b"__debugger__" in body


@pytest.mark.timeout(60)
def test_app_run_adhoc_tls(tmp_path: Path) -> None:
    script = _script(tmp_path, "tls", "ssl_context='adhoc'")
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        ctx = ssl._create_unverified_context()
        assert _fetch(f"https://127.0.0.1:{srv.port}/", ctx) == (200, b"hello from run")


@pytest.mark.timeout(90)
def test_app_run_reloader_restarts_the_script(tmp_path: Path) -> None:
    script = _script(tmp_path, "reloading", "use_reloader=True", who="before")
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        assert _fetch(f"http://127.0.0.1:{srv.port}/") == (200, b"hello from before")
        time.sleep(1.1)  # a new modification time, on coarse-grained file systems too
        script.write_text(textwrap.dedent(SCRIPT.format(options="use_reloader=True", who="after")))
        srv.wait_for(r"Detected change in .*reloading\.py", timeout=20)
        deadline = time.monotonic() + 30
        ports: list[tuple[str, str]] = []
        while time.monotonic() < deadline and len(ports) < 2:
            ports = srv.listen_re.findall(srv.output())
            time.sleep(0.1)
        assert len(ports) >= 2, srv.output()
        assert _fetch(f"http://127.0.0.1:{ports[-1][1]}/") == (200, b"hello from after")


@pytest.mark.timeout(60)
def test_app_run_with_an_ssl_context_object(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "both.pem"))
    script = tmp_path / "ctxtls.py"
    script.write_text(textwrap.dedent("""
        import ssl
        from corral.web import App

        app = App(__name__)
        app.add_url_rule("/", "index", lambda: "hello over a context")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain("both.pem")
        app.run(port=0, ssl_context=ctx)
    """))
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        assert _fetch(f"https://127.0.0.1:{srv.port}/", ctx) == (200, b"hello over a context")
        assert "TLS with the SSLContext given to app.run()" in srv.output()


CLI_APP = """
from corral.web import App

app = App(__name__)

@app.route("/")
def index():
    return "hello"

@app.route("/boom")
def boom():
    raise RuntimeError("boom")
"""


def _cli(tmp_path: Path, *args: str) -> ServerProcess:
    (tmp_path / "devcli_app.py").write_text(CLI_APP)
    command = [sys.executable, "-m", "corral.web.cli", "--app", "devcli_app"]
    return ServerProcess(["run", "--port", "0", *args], cwd=tmp_path, command=command)


@pytest.mark.timeout(60)
def test_cli_run_debugger(tmp_path: Path) -> None:
    with _cli(tmp_path, "--debug", "--no-reload", "--without-threads") as srv:
        status, body = _fetch(f"http://127.0.0.1:{srv.port}/boom")
        assert status == 500 and b"__debugger__" in body
        assert "Debug mode: on" in srv.output()


@pytest.mark.timeout(60)
def test_cli_run_no_debugger_in_debug_mode(tmp_path: Path) -> None:
    with _cli(tmp_path, "--debug", "--no-reload", "--no-debugger") as srv:
        status, body = _fetch(f"http://127.0.0.1:{srv.port}/boom")
        assert status == 500 and b"__debugger__" not in body


@pytest.mark.timeout(60)
def test_cli_run_cert_and_key(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    args = ("--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem"),
            "--with-threads", "--extra-files", "x.txt", "--exclude-patterns", "*.tmp")
    with _cli(tmp_path, *args) as srv:
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        assert _fetch(f"https://127.0.0.1:{srv.port}/", ctx) == (200, b"hello")


def test_cli_key_without_cert_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from corral.web.cli import cli

    (tmp_path / "k.pem").write_text("x")
    result = CliRunner().invoke(cli, ["run", "--key", str(tmp_path / "k.pem")])
    assert result.exit_code == 2 and '"--cert" must also be specified' in result.output


@pytest.mark.timeout(60)
def test_app_run_reads_dotenv_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dotenv")
    for name in ("FLASK_SKIP_DOTENV", "CORRAL_SKIP_DOTENV"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".flaskenv").write_text("FLASK_DEBUG=1\n")
    script = _script(tmp_path, "envdebug", "use_reloader=False")
    with ServerProcess([str(script)], cwd=tmp_path, command=[sys.executable]) as srv:
        status, body = _fetch(f"http://127.0.0.1:{srv.port}/boom")
        assert status == 500 and b"__debugger__" in body


MANAGE = """
from corral.web import App
from corral.web.cli import FlaskGroup

def create_app():
    app = App("managed")
    app.add_url_rule("/", "index", lambda: "managed {who}")
    return app

cli = FlaskGroup(create_app=create_app)

if __name__ == "__main__":
    cli()
"""


@pytest.mark.timeout(90)
def test_cli_reload_with_a_factory_group(tmp_path: Path) -> None:
    """A FlaskGroup(create_app=...) script reloads too: the command itself is re-run."""
    script = tmp_path / "manage.py"
    script.write_text(MANAGE.format(who="before"))
    args = [str(script), "run", "--port", "0", "--reload"]
    with ServerProcess(args, cwd=tmp_path, command=[sys.executable]) as srv:
        assert _fetch(f"http://127.0.0.1:{srv.port}/") == (200, b"managed before")
        time.sleep(1.1)
        script.write_text(MANAGE.format(who="after"))
        srv.wait_for(r"Detected change in .*manage\.py", timeout=20)
        deadline = time.monotonic() + 30
        ports: list[tuple[str, str]] = []
        while time.monotonic() < deadline and len(ports) < 2:
            ports = srv.listen_re.findall(srv.output())
            time.sleep(0.1)
        assert len(ports) >= 2, srv.output()
        assert _fetch(f"http://127.0.0.1:{ports[-1][1]}/") == (200, b"managed after")
