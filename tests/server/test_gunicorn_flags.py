"""A Gunicorn command line or config file keeps working when ``gunicorn`` becomes
``corral``: every setting of the installed Gunicorn is checked against corral's table,
and every abbreviation Gunicorn accepts resolves to the same setting."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from corral.server import dropin
from corral.server.config import BY_NAME, FILE_ALIASES, ConfigError, build_parser

gconfig = pytest.importorskip("gunicorn.config")


def absent(name: str) -> bool:
    return dropin.absent_reason(name) is not None or name in dropin.IGNORED


def gunicorn_settings() -> list[Any]:
    return [s for s in gconfig.KNOWN_SETTINGS if not absent(s.name)]


@pytest.mark.parametrize("setting", gunicorn_settings(), ids=lambda s: s.name)
def test_every_gunicorn_setting_is_known(setting: Any) -> None:
    name = FILE_ALIASES.get(setting.name, setting.name)
    assert name in BY_NAME, f"config files setting {setting.name!r} would be ignored"
    flags = set(build_parser()._option_string_actions)
    missing = [f for f in (getattr(setting, "cli", None) or []) if f not in flags]
    assert not missing, f"gunicorn flags {missing} are unknown to corral"


def test_absent_features_are_named_here_only_while_absent() -> None:
    for s in gconfig.KNOWN_SETTINGS:
        if absent(s.name):
            assert s.name not in BY_NAME, f"{s.name} is supported now: drop it from dropin"


def test_flag_list_is_gunicorns() -> None:
    """dropin.GUNICORN_FLAGS (used to resolve abbreviations) is the installed
    Gunicorn's, and every Gunicorn flag is known to corral's parser."""
    theirs = set(gconfig.Config().parser()._option_string_actions)
    assert theirs == dropin.GUNICORN_FLAGS
    assert theirs <= set(build_parser()._option_string_actions)


def _gunicorn_abbreviations() -> list[tuple[str, str]]:
    """(abbreviation, setting name) for every prefix of a long flag that
    Gunicorn's parser resolves to one setting."""
    parser = gconfig.Config().parser()
    out = []
    for flag, action in parser._option_string_actions.items():
        if not flag.startswith("--") or action.dest in ("help", "version"):
            continue
        for end in range(3, len(flag)):
            prefix = flag[:end]
            if prefix in parser._option_string_actions:
                continue
            matches = {a.dest for a, *_ in parser._get_option_tuples(prefix)}
            if matches == {action.dest}:
                out.append((prefix, action.dest))
    return sorted(set(out))


ABBREVIATIONS = _gunicorn_abbreviations()


def test_there_are_abbreviations_to_check() -> None:
    assert ("--error-log", "errorlog") in ABBREVIATIONS
    assert ("--graceful", "graceful_timeout") in ABBREVIATIONS
    assert len(ABBREVIATIONS) > 500


def test_every_gunicorn_abbreviation_resolves_to_the_same_setting() -> None:
    parser = build_parser()
    wrong = []
    for prefix, dest in ABBREVIATIONS:
        name = FILE_ALIASES.get(dest, dest)
        found = parser._parse_optional(prefix)
        got = None if found is None or found[0] is None else found[0].dest
        if name in BY_NAME and got != name:
            wrong.append((prefix, dest, got))
        elif name not in BY_NAME and got != "_absent_" + dest:
            wrong.append((prefix, dest, got))
    assert not wrong


@pytest.mark.parametrize(("argv", "name", "value"), [
    (["--error-log", "e.log"], "errorlog", "e.log"),
    (["--graceful", "7"], "graceful_timeout", "7"),
    (["--access-logfi", "-"], "accesslog", "-"),
    (["--max-requests-j", "5"], "max_requests_jitter", "5"),
    (["--worker-cl", "sync"], "worker_class", "sync"),
    (["--keep", "4"], "keepalive", "4"),
])
def test_abbreviations_parse(argv: list[str], name: str, value: str) -> None:
    assert getattr(build_parser().parse_args(argv), name) == value


def test_absent_flags_are_refused_with_a_reason() -> None:
    parser = build_parser()
    with pytest.raises(ConfigError, match=r"^--http-protocols: HTTP/2 is not supported"):
        parser.parse_args(["--http-protocols", "h2,h1"])
    with pytest.raises(ConfigError, match=r"^--dirty-app: Gunicorn's dirty arbiters"):
        parser.parse_args(["--dirty-app", "x:y"])
    # values that ask for nothing corral lacks are accepted
    assert isinstance(parser.parse_args(["--http-protocols", "h1", "--no-control-socket",
                                         "--http-parser", "auto"]), argparse.Namespace)
