"""Apps for settings, CLI and loader tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"cfg app"]


application = app
not_callable = 42


class Holder:
    wsgi = staticmethod(app)


holder = Holder()


def create_app(name: str = "default", *, k: int = 0) -> StartResponse:
    def made(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{name} {k}".encode()]

    made.made_with = (name, k)  # type: ignore[attr-defined]
    return made


def failing_factory() -> StartResponse:
    raise RuntimeError("database unreachable")


def none_factory() -> None:
    return None
