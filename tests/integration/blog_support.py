"""Start the demo blog under a real server, on a fresh database."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support import ROOT, ServerProcess

BLOG_DIR = ROOT / "examples" / "blog"
APP_SPEC = "corralblog:create_app()"

SERVER_COMMANDS: dict[str, list[str]] = {
    "corral": [sys.executable, "-m", "corral"],
    "gunicorn": [sys.executable, "-m", "gunicorn"],
}


def blog_env(db_path: Path) -> dict[str, str]:
    return {
        "CORRAL_DATABASE": str(db_path),
        "CORRAL_SECRET_KEY": "integration secret",
    }


def init_blog_db(db_path: Path) -> None:
    """Create the blog's tables with its own ``init-db`` command."""
    env = dict(os.environ, **blog_env(db_path))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(BLOG_DIR)])
    out = subprocess.run(
        [sys.executable, "-m", "corral.web.cli", "--app", "corralblog", "init-db"],
        cwd=BLOG_DIR, env=env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Initialized the database." in out.stdout


def start_blog(server: str, db_path: Path, *extra: str) -> ServerProcess:
    """Serve the blog with ``server`` ("corral" or "gunicorn"); ``extra`` are CLI
    arguments such as the worker class (sync by default)."""
    args = [APP_SPEC, "--chdir", str(BLOG_DIR), "-b", "127.0.0.1:0", *(extra or ("-k", "sync"))]
    srv = ServerProcess(args, cwd=BLOG_DIR, env=blog_env(db_path), command=SERVER_COMMANDS[server])
    return srv.start(timeout=30)


class Browser:
    """A tiny form-posting client with a cookie jar (follows redirects)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, str], str]:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self.base + path, data=data, method="POST"))

    def _open(self, req: urllib.request.Request) -> tuple[int, dict[str, str], str]:
        try:
            with self.opener.open(req, timeout=10) as rv:
                return rv.status, dict(rv.headers.items()), rv.read().decode()
        except urllib.error.HTTPError as e:
            body: Any = e.read()
            return e.code, dict(e.headers.items()), body.decode()
