"""send_file / send_from_directory / static files: headers, conditional, ranges."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from corral.web import App, Blueprint, send_file, send_from_directory
from corral.web.http.send_file import safe_join

CONTENT = b"0123456789" * 100


@pytest.fixture
def app(tmp_path: Path) -> App:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body { color: red }\n")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "data.bin").write_bytes(CONTENT)
    (tmp_path / "files" / "report.txt").write_text("report\n")
    (tmp_path / "secret.txt").write_text("top secret\n")
    app = App("files_app", root_path=str(tmp_path))

    @app.route("/file")
    def file() -> Any:
        return send_file("files/data.bin")

    @app.route("/txt")
    def txt() -> Any:
        return send_file("files/report.txt", as_attachment=True)

    @app.route("/unicode")
    def unicode_name() -> Any:
        return send_file(
            io.BytesIO(b"euro"), download_name="\u20ac rates.txt", as_attachment=True
        )

    @app.route("/buffer")
    def buffer() -> Any:
        return send_file(io.BytesIO(b"in memory"), mimetype="text/plain")

    @app.route("/cached")
    def cached() -> Any:
        return send_file("files/report.txt", max_age=60, etag="fixed")

    @app.route("/files/<path:name>")
    def files(name: str) -> Any:
        return send_from_directory("files", name)

    return app


def test_send_file_path(app: App) -> None:
    rv = app.test_client().get("/file")
    assert rv.status_code == 200
    assert rv.data == CONTENT
    assert rv.headers["Content-Type"] == "application/octet-stream"
    assert rv.headers["Content-Length"] == str(len(CONTENT))
    assert rv.headers["Content-Disposition"] == "inline; filename=data.bin"
    assert rv.headers["Cache-Control"] == "no-cache"
    assert rv.headers["Accept-Ranges"] == "bytes"
    assert rv.headers["ETag"].startswith('"') and rv.headers["Last-Modified"].endswith("GMT")
    rv.close()


def test_attachment_and_mimetype(app: App) -> None:
    client = app.test_client()
    rv = client.get("/txt")
    assert rv.headers["Content-Disposition"] == "attachment; filename=report.txt"
    assert rv.mimetype == "text/plain"
    rv.close()
    rv = client.get("/unicode")
    assert rv.headers["Content-Disposition"] == (
        "attachment; filename=\" rates.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt"
    )
    assert rv.data == b"euro"
    rv = client.get("/buffer")
    assert rv.data == b"in memory" and rv.mimetype == "text/plain"
    assert rv.headers["Content-Length"] == "9"
    assert "Content-Disposition" not in rv.headers


def test_conditional_etag_and_date(app: App) -> None:
    client = app.test_client()
    first = client.get("/file")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    first.close()
    rv = client.get("/file", headers={"If-None-Match": etag})
    assert rv.status_code == 304 and rv.data == b""
    rv = client.get("/file", headers={"If-Modified-Since": modified})
    assert rv.status_code == 304
    rv = client.get("/file", headers={"If-None-Match": '"other"'})
    assert rv.status_code == 200 and rv.data == CONTENT


def test_ranges(app: App) -> None:
    client = app.test_client()
    rv = client.get("/file", headers={"Range": "bytes=10-19"})
    assert rv.status_code == 206
    assert rv.data == CONTENT[10:20]
    assert rv.headers["Content-Range"] == f"bytes 10-19/{len(CONTENT)}"
    assert rv.headers["Content-Length"] == "10"
    rv = client.get("/file", headers={"Range": "bytes=-5"})
    assert rv.status_code == 206 and rv.data == CONTENT[-5:]
    rv = client.get("/file", headers={"Range": "bytes=5000-6000"})
    assert rv.status_code == 416
    assert rv.headers["Content-Range"] == f"bytes */{len(CONTENT)}"


def test_max_age(app: App) -> None:
    client = app.test_client()
    rv = client.get("/cached")
    assert rv.headers["Cache-Control"] == "public, max-age=60"
    assert rv.headers["ETag"] == '"fixed"'
    assert "Expires" in rv.headers
    rv.close()
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1)
    rv = client.get("/file")
    assert rv.headers["Cache-Control"] == "public, max-age=3600"
    rv.close()


def test_send_from_directory_and_traversal(app: App) -> None:
    client = app.test_client()
    rv = client.get("/files/report.txt")
    assert rv.status_code == 200 and rv.data == b"report\n"
    for bad in ("/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/missing.txt"):
        assert client.get(bad).status_code == 404, bad
    with app.test_request_context():
        from corral.web.http.exceptions import NotFound

        with pytest.raises(NotFound):
            send_from_directory("files", "../secret.txt")
    assert safe_join("base", "a/../b") == "base/b"
    assert safe_join("base", "../x") is None
    assert safe_join("base", "/abs") is None


def test_static_endpoints(app: App, tmp_path: Path) -> None:
    (tmp_path / "admin" / "static").mkdir(parents=True)
    (tmp_path / "admin" / "static" / "admin.js").write_text("let x = 1;\n")
    bp = Blueprint(
        "admin", "files_app.admin", static_folder="static", url_prefix="/admin",
        root_path=str(tmp_path / "admin"),
    )
    app.register_blueprint(bp)
    client = app.test_client()
    rv = client.get("/static/site.css")
    assert rv.status_code == 200 and rv.mimetype == "text/css"
    assert rv.data == b"body { color: red }\n"
    rv.close()
    rv = client.get("/admin/static/admin.js")
    assert rv.status_code == 200 and rv.data == b"let x = 1;\n"
    rv.close()
    assert client.get("/static/../secret.txt").status_code == 404
    with app.test_request_context():
        from corral.web import url_for

        assert url_for("admin.static", filename="admin.js") == "/admin/static/admin.js"


def test_uses_wsgi_file_wrapper(app: App) -> None:
    wrapped: list[Any] = []

    class Wrapper:
        def __init__(self, f: Any, size: int) -> None:
            self.f = f
            wrapped.append(self)

        def __iter__(self) -> Any:
            return iter(lambda: self.f.read(4096), b"")

        def close(self) -> None:
            self.f.close()

    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/file", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "wsgi.file_wrapper": Wrapper, "QUERY_STRING": "",
    }
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        assert statuses == ["200 OK"]
        assert wrapped and body is wrapped[0]
        assert b"".join(body) == CONTENT
    finally:
        body.close()  # type: ignore[attr-defined]


def test_errors(app: App) -> None:
    with app.test_request_context():
        with pytest.raises(TypeError, match="Unable to detect the MIME type"):
            send_file(io.BytesIO(b"x"))
        with pytest.raises(TypeError, match="No name provided for attachment"):
            send_file(io.BytesIO(b"x"), mimetype="text/plain", as_attachment=True)
        with pytest.raises(ValueError, match="binary mode"):
            send_file(io.StringIO("x"), mimetype="text/plain")  # type: ignore[arg-type]
