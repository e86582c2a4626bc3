"""The demo blog served by corral and by Gunicorn, driven over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.blog_support import BLOG_DIR, Browser, init_blog_db, start_blog
from tests.support import WORKER_CLASSES, ServerProcess

pytestmark = pytest.mark.timeout(90)


# corral with its default worker class and with the sync one, and Gunicorn.
SERVERS = [
    ("corral", "default", ["-w", "2"]),
    ("corral", "sync", dict(WORKER_CLASSES)["sync"]),
    ("gunicorn", "sync", ["-k", "sync"]),
]


@pytest.fixture(
    scope="module", params=SERVERS, ids=[f"{server}-{worker}" for server, worker, _ in SERVERS]
)
def blog(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server, worker, worker_args = request.param
    if server == "gunicorn":
        pytest.importorskip("gunicorn")
    db_path = tmp_path_factory.mktemp(f"blog-{server}-{worker}") / "blog.sqlite"
    init_blog_db(db_path)
    srv = start_blog(server, db_path, *worker_args)
    try:
        yield srv
    finally:
        srv.stop()


def base(srv: ServerProcess) -> str:
    return f"http://{srv.host}:{srv.port}"


def test_register_login_post_and_read(blog: ServerProcess) -> None:
    b = Browser(base(blog))
    status, _, page = b.get("/")
    assert status == 200 and "No posts yet." in page

    status, _, page = b.post("/auth/register", {"username": "ann", "password": "s3cret"})
    assert status == 200 and "Registration complete" in page and "<h1>Log In" in page

    status, _, page = b.post("/auth/login", {"username": "ann", "password": "s3cret"})
    assert status == 200 and '<span id="whoami">ann</span>' in page

    status, _, page = b.post("/create", {"title": "First <post>", "body": "Hello\nthere"})
    assert status == 200 and "Post published." in page
    assert "First &lt;post&gt;" in page and "by ann on" in page

    # A second visitor sees the post but cannot edit it.
    status, _, page = Browser(base(blog)).get("/")
    assert "First &lt;post&gt;" in page and "Edit" not in page
    status, _, _ = Browser(base(blog)).get("/1/update")
    assert status == 200  # redirected to the login page
    b.get("/auth/logout")
    status, _, page = b.get("/")
    assert "Log In" in page and "whoami" not in page


def test_wrong_password_is_flashed(blog: ServerProcess) -> None:
    b = Browser(base(blog))
    b.post("/auth/register", {"username": "bob", "password": "right"})
    status, _, page = b.post("/auth/login", {"username": "bob", "password": "wrong"})
    assert status == 200 and 'class="flash error">Incorrect password.' in page


def test_static_stylesheet(blog: ServerProcess) -> None:
    status, headers, body = Browser(base(blog)).get("/static/style.css")
    expected = (BLOG_DIR / "corralblog" / "static" / "style.css").read_text()
    assert status == 200
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert int(headers["Content-Length"]) == len(expected.encode())
    assert body == expected


def test_missing_post_is_404(blog: ServerProcess, tmp_path: Path) -> None:
    b = Browser(base(blog))
    b.post("/auth/register", {"username": "cy", "password": "pw"})
    b.post("/auth/login", {"username": "cy", "password": "pw"})
    status, _, page = b.get("/999/update")
    assert status == 404 and "Post id 999" in page
