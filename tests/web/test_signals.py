"""Signals: sent with the app as sender, in pipeline order."""

from __future__ import annotations

from typing import Any

from corral.web import (
    App,
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    flash,
    message_flashed,
    request_finished,
    request_started,
    request_tearing_down,
    signals,
)


def test_request_signals_in_order() -> None:
    app = App(__name__)
    events: list[tuple[str, Any]] = []
    app.route("/")(lambda: "ok")

    def rec(name: str) -> Any:
        def receiver(sender: Any, **kw: Any) -> None:
            events.append((name, sender))

        return receiver

    receivers = {
        appcontext_pushed: rec("appcontext_pushed"),
        request_started: rec("request_started"),
        request_finished: rec("request_finished"),
        request_tearing_down: rec("request_tearing_down"),
        appcontext_tearing_down: rec("appcontext_tearing_down"),
        appcontext_popped: rec("appcontext_popped"),
    }
    for sig, fn in receivers.items():
        sig.connect(fn, app)
    try:
        app.test_client().get("/")
    finally:
        for sig, fn in receivers.items():
            sig.disconnect(fn, app)
    assert [e[0] for e in events] == [
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    assert all(sender is app for _, sender in events)


def test_request_finished_gets_response() -> None:
    app = App(__name__)
    app.route("/")(lambda: "body")
    seen: list[Any] = []

    def receiver(sender: Any, response: Any, **kw: Any) -> None:
        seen.append(response.data)

    with request_finished.connected_to(receiver, app):
        app.test_client().get("/")
    assert seen == [b"body"]


def test_message_flashed() -> None:
    app = App(__name__)
    app.secret_key = "s"
    seen: list[Any] = []

    def receiver(sender: Any, message: str, category: str) -> None:
        seen.append((sender, message, category))

    @app.route("/")
    def index() -> str:
        flash("hello", "info")
        return "ok"

    with message_flashed.connected_to(receiver, app):
        app.test_client().get("/")
    assert seen == [(app, "hello", "info")]


def test_all_signals_exist() -> None:
    names = [
        "template_rendered", "before_render_template", "request_started", "request_finished",
        "got_request_exception", "request_tearing_down", "appcontext_tearing_down",
        "appcontext_pushed", "appcontext_popped", "message_flashed",
    ]  # fmt: skip
    for name in names:
        assert hasattr(getattr(signals, name), "connect")
    assert signals.signals_available
