"""API parity with the installed Flask and Werkzeug: every public name of their
Request, Response, test client, environ builder and CLI exists in corral.web, and
every method accepts the parameters theirs does.

The lists of differences are computed, not written down: a new Flask or Werkzeug
release that adds a name makes these tests name it.
"""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import flask
import flask.cli
import flask.testing
import pytest
import werkzeug.test
import werkzeug.wrappers

import corral.web
import corral.web.cli
import corral.web.testing
from corral.web import App

# name -> why corral.web has it differently (keep this empty where possible)
DELIBERATE: dict[str, str] = {}


def _public(obj: Any) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def _environ() -> dict[str, Any]:
    return werkzeug.test.EnvironBuilder("/p?a=1", headers={"Cookie": "c=1"}).get_environ()


def _missing(theirs: Any, ours: Any) -> list[str]:
    return sorted(n for n in _public(theirs) - _public(ours) if n not in DELIBERATE)


def _params(func: Any) -> tuple[set[str], bool]:
    """(parameter names, takes **kwargs) of a callable."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set(), True
    kinds = {p.kind for p in sig.parameters.values()}
    names = {
        p.name for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }  # fmt: skip
    return names, inspect.Parameter.VAR_KEYWORD in kinds


def _signature_gaps(theirs: type, ours: type) -> list[str]:
    """``Class.method: missing params`` for methods both have whose parameters differ."""
    gaps = []
    for name in sorted(_public(theirs) & _public(ours)):
        their_attr = inspect.getattr_static(theirs, name)
        our_attr = inspect.getattr_static(ours, name)
        if isinstance(their_attr, (property, type)) or not callable(getattr(theirs, name)):
            continue
        if isinstance(our_attr, property) or not callable(getattr(ours, name, None)):
            continue
        their_params, _ = _params(getattr(theirs, name))
        our_params, our_kwargs = _params(getattr(ours, name))
        lacking = their_params - our_params - {"self", "cls"}
        if lacking and not our_kwargs:
            gaps.append(f"{theirs.__name__}.{name}: {sorted(lacking)}")
    return gaps


def _defined_names(module: ModuleType) -> set[str]:
    """Public names a module defines itself (not ones it imports from elsewhere)."""
    return {
        name for name in _public(module)
        if getattr(getattr(module, name), "__module__", None) == module.__name__
    }  # fmt: skip


def test_request_has_every_flask_attribute() -> None:
    theirs = flask.Request(_environ())
    app = App(__name__)
    ours = app.request_class(_environ())
    assert _missing(theirs, ours) == []
    assert _missing(flask.Request, corral.web.Request) == []


def test_response_has_every_flask_attribute() -> None:
    assert _missing(flask.Response("x"), corral.web.Response("x")) == []
    assert _missing(flask.Response, corral.web.Response) == []


def test_werkzeug_base_wrappers_covered() -> None:
    from corral.web.http.request import Request
    from corral.web.http.response import Response

    assert _missing(werkzeug.wrappers.Request(_environ()), Request(_environ())) == []
    assert _missing(werkzeug.wrappers.Response("x"), Response("x")) == []


def test_wrapper_methods_take_flasks_parameters() -> None:
    gaps = _signature_gaps(flask.Request, corral.web.Request)
    gaps += _signature_gaps(flask.Response, corral.web.Response)
    assert gaps == []


def test_testing_module_names() -> None:
    theirs = _defined_names(flask.testing) | {"EnvironBuilder", "FlaskClient"}
    assert sorted(theirs - _public(corral.web.testing)) == []


def test_test_client_and_builder_attributes() -> None:
    fapp, app = flask.Flask(__name__), App(__name__)
    assert _missing(fapp.test_client(), app.test_client()) == []
    their_builder = flask.testing.EnvironBuilder(fapp, "/x", json={"a": 1})
    our_builder = corral.web.testing.EnvironBuilder(app, "/x", json={"a": 1})
    assert _missing(their_builder, our_builder) == []
    assert _missing(werkzeug.test.EnvironBuilder("/x"), our_builder) == []
    gaps = _signature_gaps(flask.testing.FlaskClient, corral.web.testing.FlaskClient)
    gaps += _signature_gaps(flask.testing.EnvironBuilder, corral.web.testing.EnvironBuilder)
    assert gaps == []


def test_cli_module_names() -> None:
    theirs = _defined_names(flask.cli)
    assert sorted(theirs - _public(corral.web.cli)) == []
    assert _missing(flask.cli.ScriptInfo(), corral.web.cli.ScriptInfo()) == []
    assert _signature_gaps(flask.cli.ScriptInfo, corral.web.cli.ScriptInfo) == []


def test_cli_group_and_run_options() -> None:
    their_group, our_group = flask.cli.FlaskGroup(), corral.web.cli.FlaskGroup()
    assert {p.name for p in their_group.params} <= {p.name for p in our_group.params}
    their_run = {p.name for p in flask.cli.run_command.params}
    our_run = {p.name for p in corral.web.cli.run_command.params}
    assert sorted(their_run - our_run) == []
    their_init, _ = _params(flask.cli.FlaskGroup.__init__)
    our_init, _ = _params(corral.web.cli.FlaskGroup.__init__)
    assert sorted(their_init - our_init) == []


@pytest.mark.parametrize("name", ["run", "test_client", "test_request_context", "test_cli_runner"])
def test_app_methods_take_flasks_parameters(name: str) -> None:
    their_params, _ = _params(getattr(flask.Flask, name))
    our_params, our_kwargs = _params(getattr(App, name))
    assert our_kwargs or not (their_params - our_params)


def _kind(cls: type, name: str) -> str:
    """"method" for what is called, "data" for what is read, "class" for a nested type."""
    attr = inspect.getattr_static(cls, name)
    if isinstance(attr, (staticmethod, classmethod)):
        return "method"
    if isinstance(attr, type):
        return "class"
    if isinstance(attr, property) or hasattr(attr, "__get__") and not callable(attr):
        return "data"
    if inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):
        return "method"
    return "method" if callable(attr) else "data"


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        (flask.Request, corral.web.Request),
        (flask.Response, corral.web.Response),
        (flask.testing.FlaskClient, corral.web.testing.FlaskClient),
        (flask.testing.EnvironBuilder, corral.web.testing.EnvironBuilder),
        (flask.cli.ScriptInfo, corral.web.cli.ScriptInfo),
        (flask.cli.FlaskGroup, corral.web.cli.FlaskGroup),
    ],
)
def test_shared_names_are_the_same_kind(theirs: type, ours: type) -> None:
    """A method on one side is a method on the other, a property a readable value."""
    differing = []
    for name in sorted(_public(theirs) & _public(ours)):
        try:
            pair = (_kind(theirs, name), _kind(ours, name))
        except AttributeError:  # instance-only on one side
            continue
        if pair[0] != pair[1]:
            differing.append(f"{name}: {pair[0]} vs {pair[1]}")
    assert differing == []


def test_test_response_attributes() -> None:
    fapp, app = flask.Flask(__name__), App(__name__)
    fapp.add_url_rule("/", "i", lambda: "x")
    app.add_url_rule("/", "i", lambda: "x")
    assert _missing(fapp.test_client().get("/"), app.test_client().get("/")) == []
