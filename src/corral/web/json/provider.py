"""JSON providers: the pluggable JSONProvider interface and the default one."""

from __future__ import annotations

import dataclasses
import decimal
import json as _json
import typing as t
import uuid
import weakref
from datetime import date

from ..http.parsing import http_date

if t.TYPE_CHECKING:
    from ..app_setup import AppSetup
    from ..wrappers import Response


def _default(o: t.Any) -> t.Any:
    """The conversion of values the ``json`` module does not know: dates (HTTP date
    strings), decimals and UUIDs (strings), dataclasses (dicts) and objects with
    ``__html__`` (their HTML). Raises :class:`TypeError` for anything else; replace
    ``DefaultJSONProvider.default`` to support more types."""
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    html = getattr(o, "__html__", None)
    if html is not None:
        return str(html())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class JSONProvider:
    """The interface an app uses for JSON; subclass and set ``App.json_provider_class``."""

    def __init__(self, app: AppSetup) -> None:
        self._app: AppSetup = weakref.proxy(app)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string.

        :param obj: the value.
        :param kwargs: options for the underlying JSON library.
        """
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` as JSON and write it to the text file ``fp``."""
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse JSON text (str or bytes) into a Python value.

        :param s: the JSON document.
        :param kwargs: options for the underlying JSON library.
        """
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Read JSON from the file ``fp`` and parse it."""
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if not args and not kwargs:
            return None
        if len(args) == 1:
            return args[0]
        return args or kwargs

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """A JSON response (the ``application/json`` mimetype) from one value,
        several positional values (a list) or keyword arguments (an object); what
        :func:`~corral.web.jsonify` and dict or list view results use.

        :return: the app's response class.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


class DefaultJSONProvider(JSONProvider):
    """Standard-library JSON with support for dates (as HTTP dates), UUID,
    Decimal, dataclasses and objects with ``__html__``."""

    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)
    ensure_ascii = True
    sort_keys = True
    compact: bool | None = None
    mimetype = "application/json"

    def __init__(self, app: AppSetup) -> None:
        super().__init__(app)
        self._app_ref = weakref.ref(app)
        self._encoders: dict[tuple[t.Any, ...], t.Callable[[t.Any], str]] = {}
        # (pretty, default, ensure_ascii, sort_keys, encode) of the last response
        self._last_encoder: tuple[t.Any, ...] | None = None

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return _json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        return _json.loads(s, **kwargs)

    def _encoder(self, pretty: bool) -> t.Callable[[t.Any], str]:
        """An encode function for the current settings (cached per settings)."""
        key = (self.default, self.ensure_ascii, self.sort_keys, pretty)
        enc = self._encoders.get(key)
        if enc is None:
            enc = self._encoders[key] = _make_encoder(*key)
        return enc

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        if not kwargs:
            obj = args[0] if len(args) == 1 else (args or None)
        elif not args:
            obj = kwargs
        else:
            obj = self._prepare_response_obj(args, kwargs)
        app: t.Any = self._app_ref()
        response_class = app.response_class
        text_response = getattr(response_class, "text_response", None)
        if text_response is not None:
            return text_response(self.response_text(obj, app), self.mimetype)
        return response_class(self.response_text(obj, app), mimetype=self.mimetype)

    def response_text(self, obj: t.Any, app: t.Any = None) -> str:
        """The body of ``response(obj)``: compact (pretty in debug mode unless
        ``compact`` says otherwise) with a trailing newline."""
        compact = self.compact
        if compact is None:
            pretty = (app or self._app_ref()).config["DEBUG"]  # type: ignore[union-attr]
        else:
            pretty = compact is False
        last = self._last_encoder
        if (
            last is not None
            and last[0] is pretty
            and last[1] is self.default
            and last[2] is self.ensure_ascii
            and last[3] is self.sort_keys
        ):
            encode = last[4]
        else:
            encode = self._encoder(bool(pretty))
            self._last_encoder = (
                pretty, self.default, self.ensure_ascii, self.sort_keys, encode
            )  # fmt: skip
        return encode(obj) + "\n"


def _make_encoder(
    default: t.Callable[[t.Any], t.Any], ensure_ascii: bool, sort_keys: bool, pretty: bool
) -> t.Callable[[t.Any], str]:
    """``json.dumps`` with fixed options, calling the C encoder directly when it
    is available (the same output, without rebuilding an encoder per call)."""
    if pretty:
        return _json.JSONEncoder(
            default=default, ensure_ascii=ensure_ascii, sort_keys=sort_keys, indent=2
        ).encode
    c_make = getattr(_json.encoder, "c_make_encoder", None)
    std = _json.JSONEncoder(
        default=default, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
    )
    if c_make is None:
        return std.encode
    markers: dict[int, t.Any] = {}
    quote = _json.encoder.encode_basestring_ascii if ensure_ascii else _json.encoder.encode_basestring
    c_encode = c_make(markers, default, quote, None, ":", ",", sort_keys, False, True)
    join = "".join

    def encode(obj: t.Any) -> str:
        if type(obj) is str:
            return quote(obj)
        try:
            return join(c_encode(obj, 0))
        except BaseException:
            markers.clear()
            raise

    return encode


