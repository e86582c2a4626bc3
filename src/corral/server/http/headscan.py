"""The steps of reading a request head and writing a response head that run
for every request, each defined here in Python and, where a C compiler was at
hand when corral was installed, also compiled (``_headscan.c``) for speed.

* :func:`scan_head`: the whole-head form of the request-head grammar (see
  :mod:`corral.server.http.strict`): method, target, minor version, the
  field lines and the end of a head that is whole in one read, or None for a
  head not of that form or not whole yet (which the line-by-line reader then
  reads, and refuses when it is wrong: the verdicts and their reasons are
  never made here).
* :func:`sort_fields`: the fields keyed for the WSGI environ, and the ones the
  head checks must look at.
* :func:`field_lines`: a response's header lines from the items the
  application gave ``start_response``, and what the server must know of them
  (see :mod:`corral.server.http.response`, which checks each item).

The compiled module (:data:`native`) also has the request cycle's steps that
every request takes, each defined in Python beside what it reads, which binds
it: ``start_response``
(:func:`corral.server.http.response.python_start_response`),
``build_environ`` (:func:`corral.server.http.environ.python_build_environ`),
``new_exchange`` (:class:`corral.server.http.cycle.Exchange` itself), and the
framing decision with the response head, ``frame_head`` and ``frame_whole``
(:func:`corral.server.http.cycle.python_frame_head` and
:func:`~corral.server.http.cycle.python_frame_whole`).

The Python definitions are the reference: the compiled ones must answer the
same for every input, which the tests check on both (the request-head tests run
on each, and both are compared on random and hostile input).  Setting
``CORRAL_PURE_PYTHON`` (to anything but empty) makes a process use the Python
ones; :data:`COMPILED` says which are in use.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

Fields = list[tuple[str, str]]
Scanned = tuple[str, str, int, Fields, int]
Entry = tuple[int, "str | None"]  # a name's kind (0: nothing to check) and environ key
Sorted = tuple[dict[str, str], list[tuple[int, str, str]], bool]
# what a response header item is to the server: (kind, its line, a Content-Length's length)
LineEntry = tuple[int, bytes, int]
Lines = tuple[bytes, "int | None", int, bool, tuple[str, ...]]
# the kinds of response header item
PLAIN, LENGTH, DATE, SERVER, CLOSE, DROP = range(6)

# Every repetition below is followed by a character it cannot match, so none ever
# backtracks: where possessive quantifiers exist (3.11) they say so, and are faster.
POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
TOKEN = TCHAR + "+" + POSSESSIVE
VCHARS = r"[\t\x20-\x7e\x80-\xff]*" + POSSESSIVE  # a field value, with its surrounding whitespace
OWS = r"[ \t]*" + POSSESSIVE
VISIBLE = r"[!-~]"  # the bytes of a request target (its form is checked afterwards)
MAX_METHOD = 64  # bytes in a method unless --permit-unconventional-http-method

# The whole head at once (str, decoded as Latin-1): method, target, minor version,
# the field lines.  Versions other than 1.0 and 1.1 are left to the line reader.
_HEAD = re.compile(
    r"(?!PRI )(" + TCHAR + f"{{1,{MAX_METHOD}}}" + POSSESSIVE + r") (" + VISIBLE + "+"
    + POSSESSIVE + r") HTTP/1\.([01])\r\n"
    r"((?:" + TOKEN + r":" + VCHARS + r"\r\n)*" + POSSESSIVE + r")\r\n"
)
# a field line of a head the whole-head expression took: name, and value without
# the whitespace around it (the value's last character is neither SP nor HTAB:
# only a trailing run of whitespace is ever stepped back over)
_FIELD = re.compile(r"(" + TOKEN + r"):" + OWS + r"((?:[^\r]*[^\r \t])?)" + OWS + r"\r\n")


def python_scan_head(data: bytes | bytearray, start: int, end: int) -> Scanned | None:
    """The whole-head form of the grammar over the head that begins at
    ``data[start]``, up to its blank line, which must lie within
    ``data[start:end]``: (method, target, minor version, [(name, value)], where
    the head ends), the values without the whitespace around them; None when
    the head is not of that form or its blank line is not there."""
    stop = data.find(b"\r\n\r\n", start, end) + 4  # in a head of the form, its blank line
    if stop < 4:
        return None
    m = _HEAD.fullmatch(data[start:stop].decode("latin-1"))
    if m is None:
        return None
    method, target, minor, block = m.groups()
    return method, target, int(minor), _FIELD.findall(block), stop


def python_sort_fields(fields: Fields, names: dict[str, Entry],
                       name_of: Callable[[str], Entry]) -> Sorted:
    """The values of ``fields`` by environ key (a repeated key's values joined
    with ``,``), the (kind, name, value) of those whose kind is not 0, and
    whether a name had no key (a name with ``_``, left out).  A name's (kind,
    key) comes from ``names``, or ``name_of`` when it is not there."""
    by_key: dict[str, str] = {}
    notable: list[tuple[int, str, str]] = []
    underscored = False
    get = names.get
    for name, value in fields:
        kind, key = get(name) or name_of(name)
        if key is None:
            underscored = True
        elif key in by_key:
            by_key[key] = f"{by_key[key]},{value}"
        else:
            by_key[key] = value
        if kind:
            notable.append((kind, name, value))
    return by_key, notable, underscored


def python_field_lines(first: bytes, code: int, headers: list[Any],
                       table: dict[object, LineEntry],
                       check: Callable[[object], LineEntry]) -> Lines:
    """The response head's lines from the status line (``first``) on, for a
    status ``code`` and the header items of ``headers``, each looked up in
    ``table`` (exact tuples only) or given to ``check``, which raises for a
    bad one: the lines that go out, joined; the Content-Length (the last one;
    None without one, and a length is not sent with 204 or 304); bit 1 set
    for a Date item, bit 2 for a Server item; whether a ``Connection: close``
    item was there; the names of the items dropped (hop-by-hop fields)."""
    lines = [first]
    dropped: list[str] = []
    clen: int | None = None
    close = False
    own = 0
    get = table.get
    for item in headers:
        entry = get(item) if item.__class__ is tuple else None
        kind, line, length = entry or check(item)
        if kind == PLAIN:
            lines.append(line)
            continue
        if kind == LENGTH:
            if code == 204 or code == 304:
                continue  # RFC 9110 8.6: never sent with these statuses
            clen = length
        elif kind == DATE:
            own |= 1
        elif kind == SERVER:
            own |= 2
        elif kind == CLOSE:
            close = True
            continue
        else:  # DROP
            dropped.append(item[0])  # type: ignore[index]
            continue
        lines.append(line)
    return b"".join(lines), clen, own, close, tuple(dropped)


scan_head: Callable[[bytes | bytearray, int, int], Scanned | None] = python_scan_head
sort_fields: Callable[[Fields, dict[str, Entry], Callable[[str], Entry]], Sorted] = (
    python_sort_fields)
field_lines: Callable[[bytes, int, list[Any], dict[object, LineEntry],
                       Callable[[object], LineEntry]], Lines] = python_field_lines
# The compiled head reader, None without the extension: scan, limits and
# make_head's checks at once (its Python definition is strict.match_head, which
# binds it; see there).
read_head: Callable[..., Any] | None = None
bind: Callable[..., None] | None = None
# The compiled module itself, None without it: the request cycle's steps that
# are compiled too (start_response, the environ, the exchange, the framing) are
# bound from it by the modules that define them in Python (response, environ,
# cycle).
native: Any = None
COMPILED = False

if not os.environ.get("CORRAL_PURE_PYTHON"):
    try:
        from corral.server.http import _headscan  # type: ignore[attr-defined]
    except ImportError:  # built without a compiler: the Python definitions serve
        pass
    else:
        scan_head = _headscan.scan_head
        sort_fields = _headscan.sort_fields
        field_lines = _headscan.field_lines
        read_head = _headscan.read_head
        bind = _headscan.bind
        native = _headscan
        COMPILED = True
