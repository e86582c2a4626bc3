"""Contexts and context-local proxies."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from corral.web import (
    App,
    Request,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    stream_with_context,
)


def test_unbound_proxies_are_falsy_and_raise_clearly() -> None:
    assert not request and not current_app and not g and not session
    assert not has_request_context() and not has_app_context()
    with pytest.raises(RuntimeError, match="Working outside of request context."):
        request.method  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context."):
        current_app.name  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context."):
        g.x = 1
    assert "unbound" in repr(request)


def test_app_context_binds_current_app_and_g() -> None:
    app = App(__name__)
    with app.app_context():
        assert has_app_context() and not has_request_context()
        assert current_app.name == app.name
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert isinstance(current_app, App)
        g.a = 1
        assert g.get("a") == 1 and g.get("b", 2) == 2
        assert "a" in g and list(g) == ["a"]
        assert g.setdefault("b", 3) == 3 and g.b == 3
        assert g.pop("a") == 1 and g.pop("a", None) is None
        with pytest.raises(KeyError):
            g.pop("a")
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018
    assert not has_app_context()


def test_g_is_fresh_per_app_context() -> None:
    app = App(__name__)
    with app.app_context():
        g.x = 1
    with app.app_context():
        assert "x" not in g


def test_request_context_pushes_app_context() -> None:
    app = App(__name__)
    with app.test_request_context("/path?a=1", method="POST"):
        assert has_request_context() and has_app_context()
        assert request.path == "/path" and request.args["a"] == "1"
        assert request.method == "POST"
        assert isinstance(request, Request)
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
    assert not has_app_context()


def test_nested_request_contexts_restore() -> None:
    app = App(__name__)
    with app.test_request_context("/a"):
        with app.test_request_context("/b"):
            assert request.path == "/b"
        assert request.path == "/a"


def test_contexts_are_isolated_between_threads() -> None:
    app = App(__name__)
    results: dict[str, str] = {}
    barrier = threading.Barrier(2, timeout=10)

    def worker(path: str) -> None:
        with app.test_request_context(path):
            barrier.wait()
            results[path] = request.path

    threads = [threading.Thread(target=worker, args=(p,)) for p in ("/one", "/two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"/one": "/one", "/two": "/two"}


def test_contexts_follow_asyncio_tasks() -> None:
    app = App(__name__)

    async def handler(path: str) -> str:
        with app.test_request_context(path):
            await asyncio.sleep(0)
            return request.path

    async def main() -> list[str]:
        return list(await asyncio.gather(handler("/x"), handler("/y")))

    assert asyncio.run(main()) == ["/x", "/y"]


def test_copy_current_request_context() -> None:
    app = App(__name__)
    seen: list[str] = []

    @app.route("/")
    def index() -> str:
        @copy_current_request_context
        def work() -> None:
            seen.append(request.path)

        t = threading.Thread(target=work)
        t.start()
        t.join(10)
        return "ok"

    app.test_client().get("/")
    assert seen == ["/"]
    with pytest.raises(RuntimeError):
        copy_current_request_context(lambda: None)


def test_stream_with_context() -> None:
    app = App(__name__)

    @app.route("/stream")
    def stream() -> Any:
        def generate() -> Any:
            yield "hello "
            yield request.args["name"]

        return app.response_class(stream_with_context(generate()))

    assert app.test_client().get("/stream?name=x").data == b"hello x"


def test_client_context_preserved_after_request() -> None:
    app = App(__name__)
    app.route("/")(lambda: "x")
    client = app.test_client()
    with client:
        client.get("/?q=1")
        assert request.args["q"] == "1"
        client.get("/?q=2")
        assert request.args["q"] == "2"
    assert not has_request_context()


def test_wrong_pop_is_detected() -> None:
    app = App(__name__)
    a = app.app_context()
    b = app.app_context()
    a.push()
    b.push()
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        a.pop()
    assert not has_app_context()  # resetting a's token dropped both
