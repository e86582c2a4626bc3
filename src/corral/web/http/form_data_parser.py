"""Werkzeug's form-parser interface (``Request.form_data_parser_class``), kept apart
from :mod:`.formparser` so that importing a request class does not load the
multipart parser until a form body is parsed."""

from __future__ import annotations

import typing as t

from .datastructures.structures import ImmutableMultiDict, MultiDict
from .parsing import dump_options_header

WSGIEnvironment = dict[str, t.Any]


class FormDataParser:
    """Werkzeug's parser interface over :func:`parse_form_data`:
    ``parse(stream, mimetype, content_length, options)`` -> ``(stream, form, files)``."""

    def __init__(
        self,
        stream_factory: t.Callable[..., t.IO[bytes]] | None = None,
        max_form_memory_size: int | None = None,
        max_content_length: int | None = None,
        cls: type[MultiDict] | None = None,
        silent: bool = True,
        *,
        max_form_parts: int | None = None,
    ) -> None:
        self.stream_factory = stream_factory
        self.max_form_memory_size = max_form_memory_size
        self.max_content_length = max_content_length
        self.max_form_parts = max_form_parts
        self.cls = cls or ImmutableMultiDict
        self.silent = silent

    def parse_from_environ(self, environ: WSGIEnvironment) -> tuple[t.IO[bytes], MultiDict, MultiDict]:
        return self._parse(environ, None)

    def parse(
        self,
        stream: t.IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[t.IO[bytes], MultiDict, MultiDict]:
        environ: WSGIEnvironment = {"CONTENT_TYPE": dump_options_header(mimetype, options or {})}
        if content_length is not None:
            environ["CONTENT_LENGTH"] = str(content_length)
        return self._parse(environ, stream)

    def _parse(
        self, environ: WSGIEnvironment, stream: t.IO[bytes] | None
    ) -> tuple[t.IO[bytes], MultiDict, MultiDict]:
        # python-multipart and the form parser load with the first form body
        from .formparser import parse_form_data

        return parse_form_data(
            environ, stream, max_content_length=self.max_content_length,
            max_form_memory_size=self.max_form_memory_size, max_form_parts=self.max_form_parts,
            cls=self.cls, stream_factory=self.stream_factory,
        )  # fmt: skip
