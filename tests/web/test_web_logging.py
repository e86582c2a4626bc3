"""app.logger: name, level, default handler writing to wsgi.errors."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from corral.web import App
from corral.web.logging import create_logger, default_handler, has_level_handler, wsgi_errors_stream


@pytest.fixture(autouse=True)
def reset_logging(
    monkeypatch: pytest.MonkeyPatch, pytestconfig: pytest.Config
) -> Iterator[None]:
    """Run without the test runner's log capturing (it puts handlers on the root
    logger), and forget the app loggers afterwards."""
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.WARNING)
    plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")
    names = ("log_app", "log_debug_app", "log_configured")
    yield
    if plugin is not None:
        pytestconfig.pluginmanager.register(plugin, "logging-plugin")
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)


def environ(path: str, errors: io.StringIO) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": errors,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def test_logger_defaults() -> None:
    app = App("log_app")
    assert app.logger.name == "log_app"
    assert app.logger.level == logging.NOTSET
    assert app.logger.handlers == [default_handler]
    debug_app = App("log_debug_app")
    debug_app.debug = True
    assert debug_app.logger.level == logging.DEBUG


def test_existing_handler_is_respected() -> None:
    logger = logging.getLogger("log_configured")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    app = App("log_configured")
    assert app.logger.handlers == [handler]
    assert has_level_handler(app.logger)


def test_has_level_handler_walks_parents() -> None:
    logger = logging.getLogger("log_app")
    assert not has_level_handler(logger)
    handler = logging.StreamHandler(io.StringIO())
    logging.root.addHandler(handler)
    assert has_level_handler(logger)
    handler.setLevel(logging.ERROR)
    assert not has_level_handler(logger)
    logger.propagate = False
    try:
        handler.setLevel(logging.NOTSET)
        assert not has_level_handler(logger)
    finally:
        logger.propagate = True


def test_logs_go_to_wsgi_errors() -> None:
    app = App("log_app")

    @app.route("/")
    def index() -> str:
        app.logger.warning("inside %s", "request")
        return ""

    @app.route("/boom")
    def boom() -> str:
        raise ZeroDivisionError("kaput")

    errors = io.StringIO()
    body = app(environ("/", errors), lambda *a: None)
    b"".join(body)
    assert "WARNING in test_web_logging: inside request" in errors.getvalue()

    errors = io.StringIO()
    statuses: list[str] = []
    body = app(environ("/boom", errors), lambda s, h, e=None: statuses.append(s))
    b"".join(body)
    assert statuses[0].startswith("500")
    assert "Exception on /boom [GET]" in errors.getvalue()
    assert "ZeroDivisionError: kaput" in errors.getvalue()


def test_outside_request_uses_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    app = App("log_app")
    app.logger.error("no request here")
    assert "ERROR in test_web_logging: no request here" in capsys.readouterr().err
    assert wsgi_errors_stream.write("x") == 1
    assert create_logger(app) is app.logger
