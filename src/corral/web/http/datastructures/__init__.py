"""Werkzeug-like data structures: multi-value dicts, headers, header values,
uploaded files. Everything is importable from this package."""

from __future__ import annotations

from .file_storage import FileMultiDict, FileStorage, guess_mimetype
from .header_values import (
    Accept,
    Authorization,
    CharsetAccept,
    HeaderSet,
    LanguageAccept,
    MIMEAccept,
    RequestCacheControl,
    ResponseCacheControl,
)
from .headers import EnvironHeaders, Headers
from .structures import (
    CallbackDict,
    CombinedMultiDict,
    ImmutableDict,
    ImmutableMultiDict,
    ImmutableTypeConversionDict,
    MultiDict,
    TypeConversionDict,
)

__all__ = [
    "Accept", "Authorization", "CallbackDict", "CharsetAccept", "CombinedMultiDict",
    "EnvironHeaders", "FileMultiDict", "FileStorage", "HeaderSet", "Headers", "ImmutableDict",
    "ImmutableMultiDict", "ImmutableTypeConversionDict", "LanguageAccept", "MIMEAccept",
    "MultiDict", "RequestCacheControl", "ResponseCacheControl", "TypeConversionDict",
    "guess_mimetype",
]  # fmt: skip
