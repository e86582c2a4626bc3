"""Unmodified Flask and Django apps served by corral over real sockets."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.support import WORKER_CLASSES, ServerProcess, parse_response

Resp = tuple[int, dict[str, str], bytes]


def call(srv: ServerProcess, method: str, target: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> Resp:
    lines = [f"{method} {target} HTTP/1.1", "Host: compat.test", "Connection: close"]
    all_headers = dict(headers or {})
    if body or method == "POST":
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    status, hdrs, data, _ = parse_response(srv.request(raw, timeout=20))
    return status, hdrs, data


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----corraltestboundary"
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     f"{v}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


FORM = urlencode([("name", "Zoë & co"), ("tag", "a"), ("tag", "b")]).encode()
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
UPLOAD = os.urandom(300 * 1024)


def _server(spec: str, name: str) -> Iterator[ServerProcess]:
    args = [spec, "-b", "127.0.0.1:0", *dict(WORKER_CLASSES)[name]]
    with ServerProcess(args) as srv:
        yield srv


@pytest.fixture(scope="module", params=[w[0] for w in WORKER_CLASSES],
                ids=[w[0] for w in WORKER_CLASSES])
def flask_srv(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    yield from _server("flask_app:app", request.param)


@pytest.fixture(scope="module", params=[w[0] for w in WORKER_CLASSES],
                ids=[w[0] for w in WORKER_CLASSES])
def django_srv(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    yield from _server("django_site.wsgi:application", request.param)


def test_flask_index_and_redirect(flask_srv: ServerProcess) -> None:
    assert call(flask_srv, "GET", "/")[::2] == (200, b"flask index")
    status, headers, _ = call(flask_srv, "GET", "/redirect")
    assert status == 302 and headers["location"] in ("/", "http://compat.test/")


def test_flask_form_post(flask_srv: ServerProcess) -> None:
    status, _, body = call(flask_srv, "POST", "/form", FORM, FORM_TYPE)
    assert status == 200 and json.loads(body) == {"name": "Zoë & co", "tags": ["a", "b"]}


def test_flask_file_upload(flask_srv: ServerProcess) -> None:
    body, ctype = multipart({"note": "hi"}, "data.bin", UPLOAD)
    status, _, data = call(flask_srv, "POST", "/upload", body, {"Content-Type": ctype})
    assert status == 200
    assert json.loads(data) == {"filename": "data.bin", "size": len(UPLOAD), "note": "hi",
                                "sha256": hashlib.sha256(UPLOAD).hexdigest()}


def test_flask_chunked_json_upload(flask_srv: ServerProcess) -> None:
    payload = json.dumps({"k": [1, 2, 3]}).encode()
    chunked = b"%x\r\n%b\r\n0\r\n\r\n" % (len(payload), payload)
    raw = (b"POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
           b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    status, _, body, _ = parse_response(flask_srv.request(raw))
    assert status == 200 and json.loads(body) == {"k": [1, 2, 3]}


def test_flask_streamed_response(flask_srv: ServerProcess) -> None:
    status, headers, body = call(flask_srv, "GET", "/stream")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert body == b"".join(b"part %d\n" % i for i in range(5))


def test_flask_cookies_and_session(flask_srv: ServerProcess) -> None:
    status, headers, _ = call(flask_srv, "GET", "/set-cookie")
    assert status == 200
    cookies = [c.split(";")[0] for c in headers["set-cookie"].split(", ") if "=" in c]
    cookies = [c for c in cookies if c.split("=")[0] in ("flavour", "session")]
    assert any(c.startswith("flavour=") for c in cookies)
    status, _, body = call(flask_srv, "GET", "/get-cookie", headers={"Cookie": "; ".join(cookies)})
    assert json.loads(body) == {"flavour": "oatmeal raisin", "visits": 1}


def test_django_index(django_srv: ServerProcess) -> None:
    status, _, body = call(django_srv, "GET", "/?a=1")
    assert (status, body) == (200, b"django index /?a=1")
    assert call(django_srv, "GET", "/missing")[0] == 404


def test_django_form_post(django_srv: ServerProcess) -> None:
    status, _, body = call(django_srv, "POST", "/form", FORM, FORM_TYPE)
    assert status == 200 and json.loads(body) == {"name": "Zoë & co", "tags": ["a", "b"]}


def test_django_file_upload(django_srv: ServerProcess) -> None:
    body, ctype = multipart({}, "up.bin", UPLOAD)
    status, _, data = call(django_srv, "POST", "/upload", body, {"Content-Type": ctype})
    assert status == 200 and json.loads(data) == {
        "filename": "up.bin", "size": len(UPLOAD), "sha256": hashlib.sha256(UPLOAD).hexdigest()}


def test_django_streamed_response_and_cookies(django_srv: ServerProcess) -> None:
    status, headers, body = call(django_srv, "GET", "/stream")
    assert status == 200 and body == b"".join(b"part %d\n" % i for i in range(5))
    status, headers, body = call(django_srv, "GET", "/cookie", headers={
        "Cookie": "flavour=plain", "X-Forwarded-Proto": "https"})
    # 127.0.0.1 is in --forwarded-allow-ips by default, so the proxy header is trusted
    assert json.loads(body) == {"flavour": "plain", "https": True, "host": "compat.test"}
    assert headers["set-cookie"].startswith("flavour=ginger")


@pytest.mark.parametrize("spec, body", [
    ("examples.hello:app", b"Hello, World!\n"),
    ("examples.factory:create_app()", b"Hello from a factory!\n"),
    ("examples.factory:create_app('Howdy')", b"Howdy!\n"),
])
def test_examples_are_served(spec: str, body: bytes) -> None:
    with ServerProcess([spec, "-b", "127.0.0.1:0", "-k", "sync"]) as srv:
        assert call(srv, "GET", "/")[::2] == (200, body)
