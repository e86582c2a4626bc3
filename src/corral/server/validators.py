"""Validators of the settings table (:mod:`corral.server.config`).

Each takes a raw value (a str from the command line or the environment, or any
Python value from a config file) and returns the normalised value, or raises
``ValueError`` with a short reason.  They are idempotent: validating a validated
value returns it unchanged.
"""

from __future__ import annotations

import grp
import os
import pwd
import ssl
from collections.abc import Callable
from typing import Any

from corral.server import hooks
from corral.server.http.proxy import parse_network

Validator = Callable[[Any], Any]


def _int(minimum: int = 0) -> Validator:
    def validate(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"invalid int value: {value!r}")
        if isinstance(value, int):
            n = value
        else:
            try:
                n = int(str(value).strip())
            except ValueError:
                raise ValueError(f"invalid int value: {value!r}")
        if n < minimum:
            raise ValueError(f"must be >= {minimum}, got {n}")
        return n

    return validate


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"invalid float value: {value!r}")
    try:
        n = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except ValueError:
        raise ValueError(f"invalid float value: {value!r}")
    if n < 0:
        raise ValueError(f"must be >= 0, got {n}")
    return n


_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"invalid boolean value: {value!r}")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _octal(value: Any) -> int:
    """An int, or a string read as Gunicorn reads it: octal with a leading zero
    (``022``, ``0o22``), else with Python's prefixes (``0x12``) or decimal."""
    if isinstance(value, bool):
        raise ValueError(f"invalid octal value: {value!r}")
    if isinstance(value, int):
        result = value
    else:
        text = str(value).strip().lower()
        try:
            if len(text) > 1 and text[0] == "0" and text[1].isdigit():
                result = int(text, 8)
            else:
                result = int(text, 0)
        except ValueError:
            raise ValueError(f"invalid octal value: {value!r}") from None
    if not 0 <= result <= 0o777:
        raise ValueError(f"must be between 0 and 0o777, got {value!r}")
    return result


def _account(kind: str, lookup: Callable[[str], int], current: Callable[[], int]) -> Validator:
    """A user or group given by name or numeric id, resolved to the id.  ``None``
    means the identity this process runs with (nothing to switch)."""

    def validate(value: Any) -> int:
        if value is None:
            return current()
        if isinstance(value, bool):
            raise ValueError(f"invalid {kind}: {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"invalid {kind} id: {value}")
            return value
        text = _str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            return lookup(text)
        except KeyError:
            raise ValueError(f"no such {kind}: {text!r}") from None

    return validate


_user = _account("user", lambda name: pwd.getpwnam(name).pw_uid, os.geteuid)
_group = _account("group", lambda name: grp.getgrnam(name).gr_gid, os.getegid)


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else _bool(value)


def _proxy_protocol(value: Any) -> bool:
    """On or off; Gunicorn's modes (``auto``, ``v1``, ``v2``) all mean on: corral
    tells the two versions apart by their signatures."""
    if isinstance(value, str) and value.strip().lower() in ("auto", "v1", "v2", "none"):
        return value.strip().lower() != "none"
    return _bool(value)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a dict, got {value!r}")
    return value


def _ssl_version(value: Any) -> str:
    """Gunicorn's ``ssl_version``: only the values meaning "whatever OpenSSL
    negotiates" are accepted, as a name or as the ``ssl`` module's number."""
    names = {"TLS": "TLS_SERVER", "TLS_SERVER": "TLS_SERVER", "SSLV23": "TLS_SERVER"}
    numbers = {int(ssl.PROTOCOL_TLS_SERVER): "TLS_SERVER", 2: "TLS_SERVER"}
    if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
        return numbers[value]
    text = str(value).strip().upper().removeprefix("PROTOCOL_")
    if text.isdigit() and int(text) in numbers:
        return numbers[int(text)]
    if text in names:
        return names[text]
    raise ValueError(f"{value!r} is not supported: corral negotiates the TLS version with "
                     "OpenSSL's defaults (TLS_SERVER); restrict it with --ciphers or the "
                     "OpenSSL configuration")


def _opt_dir(value: Any) -> str | None:
    """An existing, writable directory (or None)."""
    if value is None:
        return None
    path = _str(value)
    if not os.path.isdir(path):
        raise ValueError(f"no such directory: {path!r}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"directory not writable: {path!r}")
    return path


def _choice(*choices: str) -> Validator:
    def validate(value: Any) -> str:
        text = _str(value).strip().lower()
        if text not in choices:
            options = ", ".join(repr(c) for c in choices)
            raise ValueError(f"invalid choice: {value!r} (choose from {options})")
        return text

    return validate


def _str_list(value: Any) -> list[str]:
    """A string or a list of strings (repeatable flags, e.g. --bind)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"expected a string or a list of strings, got {value!r}")


def _comma_list(value: Any) -> list[str]:
    """Comma-separated string, or a list of strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [v.strip() for v in _str_list(value)]


def _env_list(value: Any) -> list[str]:
    items = _str_list(value)
    for item in items:
        if "=" not in item or item.startswith("="):
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
    return items


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"expected a dict of strings, got {value!r}")
    return {k.upper(): v for k, v in value.items()}


def _static_map(value: Any) -> list[str]:
    """``URL_PREFIX=DIR`` entries (the directories are checked where they are used)."""
    items = _str_list(value)
    for item in items:
        prefix, sep, directory = item.partition("=")
        if not sep or not prefix.startswith("/") or not directory:
            raise ValueError(f"expected URL_PREFIX=DIR with URL_PREFIX starting with /, "
                             f"got {item!r}")
    return items


def _peer_list(value: Any) -> list[str]:
    """Comma-separated addresses, CIDR networks (IPv4 or IPv6) or ``*``."""
    entries = _comma_list(value)
    for entry in entries:
        if entry != "*" and parse_network(entry) is None:
            raise ValueError(f"not an IP address, a network or '*': {entry!r}")
    return entries


def _worker_class(value: Any) -> str:
    """A worker class name; Gunicorn's spellings become corral's names."""
    from corral.server.workers import WorkerClassError, canonical_worker_class

    try:
        return canonical_worker_class(_str(value))
    except WorkerClassError as e:
        raise ValueError(str(e)) from None


def _hook(name: str) -> Validator:
    def validate(value: Any) -> Any:
        return hooks.check_hook(name, value)

    return validate
