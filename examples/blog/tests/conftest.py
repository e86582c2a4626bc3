"""Fixtures for the blog's tests: an app on a fresh SQLite file per test."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BLOG_DIR = Path(__file__).resolve().parent.parent
if str(BLOG_DIR) not in sys.path:
    sys.path.insert(0, str(BLOG_DIR))

from corralblog import create_app  # noqa: E402
from corralblog.db import get_db, init_db  # noqa: E402

DATA_SQL = (Path(__file__).parent / "data.sql").read_text("utf8")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "blog.sqlite")})
    with app.app_context():
        init_db()
        get_db().executescript(DATA_SQL)
    yield app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: Any) -> None:
        self._client = client

    def login(self, username: str = "test", password: str = "test") -> Any:
        return self._client.post(
            "/auth/login", data={"username": username, "password": password}
        )

    def logout(self) -> Any:
        return self._client.get("/auth/logout")


@pytest.fixture
def auth(client: Any) -> AuthActions:
    return AuthActions(client)


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("CORRAL_", "FLASK_")):
            monkeypatch.delenv(key)
