from __future__ import annotations

from typing import Any

from corralblog import create_app


def test_config() -> None:
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_hello(client: Any) -> None:
    response = client.get("/hello")
    assert response.data == b"Hello, World!"


def test_stylesheet(client: Any) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b"font-family" in response.data
    response.close()
