"""``--no-sendfile`` (and ``SENDFILE=0``) and ``--tmp-upload-dir``, for every worker
class, against real servers running this module's :func:`app`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, WORKER_CLASSES, ServerProcess, parse_response

APP = "tests.server.test_file_settings:app"
DATA = bytes(range(256)) * 800  # 200 KiB


class RecordingFile(io.FileIO):
    """A real file that notes every read() in a marker file: sendfile() never
    calls it, the read-and-write fallback does."""

    def read(self, size: int | None = -1, /) -> bytes:
        with open(os.environ["MARKER"], "a") as f:
            f.write("r")
        return super().read(size)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](RecordingFile(os.environ["DATA_FILE"]))  # type: ignore[no-any-return]
    # /spool: read the body, then name the deleted files this process holds open
    data = environ["wsgi.input"].read()
    open_files = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            open_files.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    body = json.dumps({"size": len(data), "open": open_files}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def serve(kind: str, tmp_path: Path, *extra: str, env: dict[str, str] | None = None
          ) -> ServerProcess:
    data_file = tmp_path / "data.bin"
    data_file.write_bytes(DATA)
    marker = tmp_path / "reads"
    marker.write_text("")
    args = [APP, "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[kind], *extra]
    return ServerProcess(args, env={"DATA_FILE": str(data_file), "MARKER": str(marker),
                                    **(env or {})}).start()


def get_file(srv: ServerProcess) -> bytes:
    raw = srv.request(b"GET /file HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, _, body, _ = parse_response(raw)
    assert status == 200
    return body


@pytest.mark.parametrize("kind", [w[0] for w in WORKER_CLASSES])
@pytest.mark.parametrize("how", ["default", "--no-sendfile", "SENDFILE=0"])
def test_sendfile_can_be_turned_off(kind: str, how: str, tmp_path: Path) -> None:
    extra = ["--no-sendfile"] if how == "--no-sendfile" else []
    env = {"SENDFILE": "0"} if how == "SENDFILE=0" else None
    srv = serve(kind, tmp_path, *extra, env=env)
    try:
        assert get_file(srv) == DATA
    finally:
        srv.stop()
    reads = (tmp_path / "reads").read_text()
    if how == "default":
        assert reads == "", "the file was read in Python although sendfile() was possible"
    else:
        assert reads, "sendfile() was used although it was turned off"


# the sync worker streams bodies from the socket: nothing to spool
@pytest.mark.parametrize("kind", [w[0] for w in WORKER_CLASSES if w[0] != "sync"])
def test_large_bodies_spool_into_tmp_upload_dir(kind: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    srv = serve(kind, tmp_path, "--tmp-upload-dir", str(spool), "--body-spool-size", "1024")
    try:
        body = b"x" * 50_000
        raw = srv.request(b"POST /spool HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n%b" % (len(body), body))
    finally:
        srv.stop()
    status, _, answer, _ = parse_response(raw)
    assert status == 200
    got = json.loads(answer)
    assert got["size"] == len(body)
    assert any(p.startswith(str(spool)) for p in got["open"]), got["open"]


@pytest.mark.parametrize("value", ["/no/such/directory", "FILE"])
def test_bad_tmp_upload_dir_is_one_line(value: str, tmp_path: Path) -> None:
    if value == "FILE":
        value = str(tmp_path / "plain")
        Path(value).write_text("")
    out = subprocess.run(
        [sys.executable, "-m", "corral", APP, "--tmp-upload-dir", value, "--check-config"],
        capture_output=True, text=True, timeout=30, cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--tmp-upload-dir" in lines[0] and "directory" in lines[0]
