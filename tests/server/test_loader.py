"""App specs: attributes, factories with literal arguments, one-line failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corral.server.loader import AppLoadError, load_app, parse_spec
from tests.support import APPS


@pytest.fixture(autouse=True)
def apps_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(APPS))
    yield


def call(app: object) -> bytes:
    seen: list[str] = []
    body = app({}, lambda status, headers, exc_info=None: seen.append(status))  # type: ignore[operator]
    assert seen == ["200 OK"]
    return b"".join(body)


def test_attribute() -> None:
    assert call(load_app("cfg_app:app")) == b"cfg app"


def test_module_alone_means_application() -> None:
    import cfg_app

    assert load_app("cfg_app") is cfg_app.application


def test_dotted_attribute() -> None:
    assert call(load_app("cfg_app:holder.wsgi")) == b"cfg app"


def test_factory_without_arguments() -> None:
    assert call(load_app("cfg_app:create_app()")) == b"default 0"


def test_factory_with_literal_arguments() -> None:
    app = load_app("cfg_app:create_app('blog', k=1)")
    assert call(app) == b"blog 1"
    assert load_app("cfg_app:create_app(name='x', k=-2)").made_with == ("x", -2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("cfg_nowhere:app", "No module named 'cfg_nowhere'"),
        ("cfg_nowhere.sub:app", "No module named 'cfg_nowhere'"),
        ("cfg_inner_import:app",
         "error while importing 'cfg_inner_import': ModuleNotFoundError: "
         "No module named 'cfg_no_such_dependency'"),
        ("cfg_app:missing", "'cfg_app' has no attribute 'missing'"),
        ("cfg_app:holder.missing", "'cfg_app:holder' has no attribute 'missing'"),
        ("cfg_app:not_callable", "'cfg_app:not_callable' is a int, not a callable application"),
        ("cfg_app:not_callable()", "'cfg_app:not_callable' is not callable"),
        ("cfg_app:failing_factory()",
         "factory 'cfg_app:failing_factory' raised RuntimeError: database unreachable"),
        ("cfg_app:none_factory()", "factory 'cfg_app:none_factory' returned None"),
        ("cfg_app:create_app(__import__('os').getcwd())", "arguments must be literals"),
        ("cfg_app:create_app(**{'k': 1})", "** arguments are not allowed"),
        ("cfg_app:1 + 2", "expected an attribute name"),
        ("cfg_app:app(", "invalid attribute expression"),
        (":app", "invalid module name"),
        ("bad-module:app", "invalid module name"),
    ],
)
def test_failures_are_one_line(spec: str, reason: str) -> None:
    with pytest.raises(AppLoadError) as err:
        load_app(spec)
    message = str(err.value)
    assert message.startswith(f"Failed to load app {spec!r}: ")
    assert reason in message
    assert "\n" not in message
    assert err.value.spec == spec


def test_literal_arguments_are_never_evaluated() -> None:
    spec = parse_spec("m:f(1, 'a', [2, 3], {'k': None}, x=(1, 2))")
    assert (spec.module, spec.path, spec.call) == ("m", ["f"], True)
    assert spec.args == [1, "a", [2, 3], {"k": None}]
    assert spec.kwargs == {"x": (1, 2)}
    assert parse_spec("pkg.mod:obj.attr").path == ["obj", "attr"]
