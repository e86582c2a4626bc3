"""The typed settings: settings_types.py is generated from the table and in sync with
it, every setting is a slot of that type, and reads are plain attribute reads."""

from __future__ import annotations

import collections.abc
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

from corral.server.config import SETTINGS, Settings
from corral.server.settings_types import SettingFields
from tests.support import ROOT

HINTS = typing.get_type_hints(SettingFields)


def conforms(value: object, hint: object) -> bool:
    """Whether ``value`` is of the annotated type (as deep as the types here go)."""
    if hint is typing.Any:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is collections.abc.Callable:
        return callable(value)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()
        )
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, float)
    assert isinstance(hint, type), hint
    return isinstance(value, hint) and (hint is bool or not isinstance(value, bool))


def test_generated_module_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "update_settings_types.py"), "--check"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_typed_slot_per_setting() -> None:
    names = [s.name for s in SETTINGS]
    assert list(SettingFields.__slots__) == names  # as_dict() keeps the table's order
    assert sorted(HINTS) == sorted(names)
    assert not hasattr(Settings(), "__dict__")


@pytest.mark.parametrize(("name", "hint"), [
    ("workers", int), ("bind", list[str]), ("app_uri", str | None),
    ("header_timeout", float), ("reuse_port", bool), ("sendfile", bool | None),
    ("secure_scheme_headers", dict[str, str]), ("user", int),
])
def test_types_come_from_the_validators(name: str, hint: object) -> None:
    assert HINTS[name] == hint


def test_hooks_are_typed_as_callables_of_their_signature() -> None:
    assert HINTS["post_fork"] == collections.abc.Callable[[typing.Any, typing.Any], None]
    assert typing.get_args(HINTS["nworkers_changed"])[0][1:] == [int, int | None]


def test_default_values_have_the_declared_types() -> None:
    settings = Settings()
    for name, value in settings.as_dict().items():
        assert conforms(value, HINTS[name]), (name, value, HINTS[name])


def test_resolved_values_have_the_declared_types(tmp_path: Path) -> None:
    argv = ["-w", "3", "--threads", "2", "-b", ":9", "--forwarded-allow-ips", "10.0.0.0/8,*",
            "--umask", "022", "--proxy-protocol", "--no-sendfile", "--timeout", "5",
            "--header-timeout", "2", "-e", "A=1", "app:app"]
    settings = Settings.from_argv(argv, environ={}, cwd=str(tmp_path))
    for name, value in settings.as_dict().items():
        assert conforms(value, HINTS[name]), (name, value, HINTS[name])
    assert (settings.workers, settings.umask, settings.sendfile) == (3, 0o22, False)


def test_assignment_validates_and_unknown_names_are_refused() -> None:
    settings = Settings()
    settings.workers = "4"  # type: ignore[assignment]  # validated like the command line
    assert settings.workers == 4
    with pytest.raises(AttributeError, match="no setting named 'wokers'"):
        settings.wokers = 4
    with pytest.raises(AttributeError):
        settings.wokers  # type: ignore[attr-defined]  # noqa: B018
