"""Class-based views."""

from __future__ import annotations

from typing import Any, Callable

from corral.web import App, request
from corral.web.views import MethodView, View


def test_view_dispatch_and_init_every_request() -> None:
    app = App(__name__)
    created: list[int] = []

    class Greeting(View):
        methods = ["GET", "POST"]

        def __init__(self, word: str) -> None:
            created.append(1)
            self.word = word

        def dispatch_request(self, name: str) -> str:
            return f"{self.word} {name} {request.method}"

    app.add_url_rule("/hi/<name>", view_func=Greeting.as_view("hi", "hello"))
    c = app.test_client()
    assert c.get("/hi/bob").data == b"hello bob GET"
    assert c.post("/hi/ann").data == b"hello ann POST"
    assert len(created) == 2


def test_init_once() -> None:
    app = App(__name__)
    created: list[int] = []

    class Counter(View):
        init_every_request = False

        def __init__(self) -> None:
            created.append(1)
            self.n = 0

        def dispatch_request(self) -> str:
            self.n += 1
            return str(self.n)

    app.add_url_rule("/", view_func=Counter.as_view("count"))
    c = app.test_client()
    c.get("/")
    assert c.get("/").data == b"2"
    assert len(created) == 1


def test_method_view_methods_and_head() -> None:
    app = App(__name__)

    class Item(MethodView):
        def get(self, item_id: int) -> str:
            return f"get {item_id}"

        def delete(self, item_id: int) -> Any:
            return "", 204

    view = Item.as_view("item")
    assert set(view.methods) == {"GET", "DELETE"}  # type: ignore[attr-defined]
    app.add_url_rule("/items/<int:item_id>", view_func=view)
    c = app.test_client()
    assert c.get("/items/3").data == b"get 3"
    assert c.head("/items/3").status_code == 200
    assert c.delete("/items/3").status_code == 204
    assert c.post("/items/3").status_code == 405


def test_method_view_inherits_methods() -> None:
    class Base(MethodView):
        def get(self) -> str:
            return "get"

    class Child(Base):
        def post(self) -> str:
            return "post"

    assert set(Child.methods or ()) == {"GET", "POST"}


def test_decorators_applied() -> None:
    app = App(__name__)

    def add_header(f: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kw: Any) -> Any:
            rv = app.make_response(f(**kw))
            rv.headers["X-Decorated"] = "1"
            return rv

        return wrapper

    class Plain(View):
        decorators = [add_header]

        def dispatch_request(self) -> str:
            return "plain"

    view = Plain.as_view("plain")
    assert view.__name__ == "plain" and view.view_class is Plain  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    assert app.test_client().get("/").headers["X-Decorated"] == "1"
