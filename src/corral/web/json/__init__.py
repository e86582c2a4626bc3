"""JSON for apps: ``dumps``/``loads`` through the current app's provider, and
``jsonify``. The providers are in :mod:`.provider`, tagged JSON in :mod:`.tag`."""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app, _no_app_msg
from .provider import _default

if t.TYPE_CHECKING:
    from ..wrappers import Response


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize with the current app's provider, or the default rules outside one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON into the text file ``fp``, with the current app's provider when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.json.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Parse JSON text (str or bytes), with the current app's provider when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Read and parse JSON from the file ``fp``, with the current app's provider when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """A JSON response (``application/json``), through the app's JSON provider.

    :param args: one value to serialize, or several (sent as a list).
    :param kwargs: keyword arguments, sent as an object (not with ``args``).
    :return: the app's response class.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(_no_app_msg)
    return ctx.app.json.response(*args, **kwargs)
