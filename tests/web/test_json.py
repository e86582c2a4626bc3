"""JSON: the provider, jsonify and module functions."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid
from typing import Any

import pytest
from markupsafe import Markup

from corral.web import App, json, jsonify, request
from corral.web.json.provider import DefaultJSONProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_jsonify_forms() -> None:
    app = App(__name__)
    with app.app_context():
        assert jsonify(b=1, a=2).data == b'{"a":2,"b":1}\n'
        assert jsonify([1, 2]).data == b"[1,2]\n"
        assert jsonify(1, 2).json == [1, 2]
        assert jsonify().data == b"null\n"
        assert jsonify({"x": None}).mimetype == "application/json"
        with pytest.raises(TypeError):
            jsonify(1, a=2)


def test_special_types() -> None:
    app = App(__name__)
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "date": datetime.date(2024, 1, 2),
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "uuid": u,
        "dec": decimal.Decimal("1.50"),
        "dc": Point(1, 2),
        "markup": Markup("<b>x</b>"),
    }
    with app.app_context():
        out = json.loads(jsonify(value).data)
    assert out == {
        "date": "Tue, 02 Jan 2024 00:00:00 GMT",
        "dt": "Tue, 02 Jan 2024 03:04:05 GMT",
        "uuid": str(u),
        "dec": "1.50",
        "dc": {"x": 1, "y": 2},
        "markup": "<b>x</b>",
    }
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json.dumps(object())


def test_debug_pretty_and_compact_settings() -> None:
    app = App(__name__)
    app.debug = True
    with app.app_context():
        assert jsonify(a=1).data == b'{\n  "a": 1\n}\n'
        app.json.compact = True  # type: ignore[attr-defined]
        assert jsonify(a=1).data == b'{"a":1}\n'
    app.json.sort_keys = False  # type: ignore[attr-defined]
    with app.app_context():
        assert jsonify(b=1, a=2).data == b'{"b":1,"a":2}\n'


def test_ensure_ascii_default() -> None:
    app = App(__name__)
    with app.app_context():
        assert jsonify("é").data == b'"\\u00e9"\n'


def test_module_functions_inside_and_outside_app() -> None:
    assert json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    assert json.loads('{"a": 1}') == {"a": 1}
    app = App(__name__)
    with app.app_context():
        assert json.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_custom_provider() -> None:
    class Provider(DefaultJSONProvider):
        def dumps(self, obj: Any, **kwargs: Any) -> str:
            return "custom"

    class MyApp(App):
        json_provider_class = Provider

    app = MyApp(__name__)
    with app.app_context():
        assert json.dumps({}) == "custom"


def test_request_json() -> None:
    app = App(__name__)

    @app.post("/echo")
    def echo() -> Any:
        return {"got": request.get_json(), "is_json": request.is_json}

    c = app.test_client()
    rv = c.post("/echo", json={"a": [1, 2]})
    assert rv.json == {"got": {"a": [1, 2]}, "is_json": True}
    rv = c.post("/echo", data="{bad", content_type="application/json")
    assert rv.status_code == 400
    assert c.post("/echo", data="x").status_code == 415
