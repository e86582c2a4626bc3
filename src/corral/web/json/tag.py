"""Tagged JSON: JSON that round-trips a few non-JSON Python types.

A value of a tagged type is written as a one-key object ``{" t": [...]}`` whose key
names the type.  The tags and their encodings are the ones Flask's session cookie
uses, so a cookie signed with the same secret key is readable by either framework.

=========  =====  ========================================
type       tag    JSON form
=========  =====  ========================================
dict       `` di``  a one-key dict whose key is itself a tag
tuple      `` t``   list
bytes      `` b``   base64 string
Markup     `` m``   string (anything with ``__html__``)
UUID       `` u``   hex string
datetime   `` d``   HTTP date string
=========  =====  ========================================
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from markupsafe import Markup

from .. import json
from ..http.parsing import http_date, parse_date


class JSONTag:
    """One tagged type: ``check`` picks values, ``to_json``/``to_python`` convert."""

    key: ClassVar[str] = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    def check(self, value: Any) -> bool:
        """Whether this tag handles ``value``."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """``value`` as something JSON can hold (the tag's key is added by :meth:`tag`)."""
        raise NotImplementedError

    def to_python(self, value: Any) -> Any:
        """Turn the JSON form made by :meth:`to_json` back into the Python value."""
        raise NotImplementedError

    def tag(self, value: Any) -> Any:
        """``value`` converted and wrapped in a one-key dict under this tag's key."""
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """A one-key dict whose key happens to be a tag: the key gets a ``__`` suffix."""

    key = " di"

    def check(self, value: Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: Any) -> Any:
        (k, v), = value.items()
        return {f"{k}__": self.serializer.tag(v)}

    def to_python(self, value: Any) -> Any:
        (k, v), = value.items()
        return {k[:-2]: v}


class PassDict(JSONTag):
    """Plain dicts: their values are tagged, the dict itself is not."""
    def check(self, value: Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: Any) -> Any:
        return {k: self.serializer.tag(v) for k, v in value.items()}

    tag = to_json


class TagTuple(JSONTag):
    """Tuples, as JSON lists under the `` t`` key."""
    key = " t"

    def check(self, value: Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: Any) -> Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: Any) -> Any:
        return tuple(value)


class PassList(JSONTag):
    """Plain lists: their items are tagged, the list itself is not."""
    def check(self, value: Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: Any) -> Any:
        return [self.serializer.tag(item) for item in value]

    tag = to_json


class TagBytes(JSONTag):
    """Bytes, as base64 text under the `` b`` key."""
    key = " b"

    def check(self, value: Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: Any) -> Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: Any) -> Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """Objects with ``__html__`` (Markup), as their HTML under the `` m`` key."""
    key = " m"

    def check(self, value: Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: Any) -> Any:
        return str(value.__html__())

    def to_python(self, value: Any) -> Any:
        return Markup(value)


class TagUUID(JSONTag):
    """UUIDs, as their hex form under the `` u`` key."""
    key = " u"

    def check(self, value: Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: Any) -> Any:
        return value.hex

    def to_python(self, value: Any) -> Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """Datetimes, as HTTP dates under the `` d`` key."""
    key = " d"

    def check(self, value: Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: Any) -> Any:
        return http_date(value)

    def to_python(self, value: Any) -> Any:
        return parse_date(value)


class TaggedJSONSerializer:
    """The serializer for session cookies (``dumps``/``loads`` like :mod:`json`)."""

    default_tags: ClassVar[list[type[JSONTag]]] = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        self.tags: dict[str, JSONTag] = {}
        self.order: list[JSONTag] = []
        for cls in self.default_tags:
            self.register(cls)

    def register(
        self, tag_class: type[JSONTag], force: bool = False, index: int | None = None
    ) -> None:
        """Add a tag; ``index`` places it earlier in the check order."""
        tag = tag_class(self)
        if tag.key:
            if not force and tag.key in self.tags:
                raise KeyError(f"Tag '{tag.key}' is already registered.")
            self.tags[tag.key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: Any) -> Any:
        """``value`` with every tagged type inside it replaced by its tagged form."""
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, Any]) -> Any:
        """Turn a one-key tagged dict back into its Python value (other dicts are returned as they are)."""
        if len(value) != 1:
            return value
        key = next(iter(value))
        tag = self.tags.get(key)
        return value if tag is None else tag.to_python(value[key])

    def _untag_scan(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.untag({k: self._untag_scan(v) for k, v in value.items()})
        if isinstance(value, list):
            return [self._untag_scan(item) for item in value]
        return value

    def dumps(self, value: Any) -> str:
        """``value`` tagged and serialized to compact JSON text."""
        return json.dumps(self.tag(value), separators=(",", ":"))

    def loads(self, value: str | bytes) -> Any:
        """Parse JSON text made by :meth:`dumps`, turning tagged values back into Python objects."""
        return self._untag_scan(json.loads(value))
