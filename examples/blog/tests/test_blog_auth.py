from __future__ import annotations

from typing import Any

import pytest
from corralblog.db import get_db

from corral.web import g, session


def test_register(client: Any, app: Any) -> None:
    assert client.get("/auth/register").status_code == 200
    response = client.post("/auth/register", data={"username": "a", "password": "a"})
    assert response.headers["Location"] == "/auth/login"

    with app.app_context():
        row = get_db().execute("SELECT * FROM user WHERE username = 'a'").fetchone()
        assert row is not None
        assert row["password"].startswith("scrypt:")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "", b"Username is required."),
        ("a", "", b"Password is required."),
        ("test", "test", b"already registered"),
    ],
)
def test_register_validate_input(client: Any, username: str, password: str, message: bytes) -> None:
    response = client.post("/auth/register", data={"username": username, "password": password})
    assert message in response.data


def test_login(client: Any, auth: Any) -> None:
    assert client.get("/auth/login").status_code == 200
    response = auth.login()
    assert response.headers["Location"] == "/"

    with client:
        client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "test"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("a", "test", b"Incorrect username."), ("test", "a", b"Incorrect password.")],
)
def test_login_validate_input(auth: Any, username: str, password: str, message: bytes) -> None:
    response = auth.login(username, password)
    assert message in response.data


def test_logout(client: Any, auth: Any) -> None:
    auth.login()
    with client:
        auth.logout()
        assert "user_id" not in session


def test_register_flashes_and_login_page_shows_it(client: Any) -> None:
    response = client.post(
        "/auth/register", data={"username": "new", "password": "pw"}, follow_redirects=True
    )
    assert response.request.path == "/auth/login"
    assert b"Registration complete" in response.data
    # A flashed message is shown once.
    assert b"Registration complete" not in client.get("/auth/login").data
