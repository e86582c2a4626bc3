"""URL routing: rules, converters, a map with an indexed matcher, and URL building.

Static rules resolve through one dict lookup.  Dynamic rules live in a trie keyed by
their leading static path segments; every trie node owns one combined regular
expression over the rules that can match below it (in priority order), so matching
costs a short walk plus one regex call whatever the size of the map.
"""

from __future__ import annotations

import re
import threading
import typing as t
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, urlencode

from .datastructures import ImmutableDict, MultiDict
from .exceptions import HTTPException, MethodNotAllowed, NotFound
from .http import iter_multi_items

if t.TYPE_CHECKING:
    from .wrappers import Response

_URL_SAFE = "!$&'()*+,/:;=@"
_QUERY_SAFE = "!$'()*,/:;?@"


# -- exceptions


class RoutingException(Exception):
    """Base of the exceptions the matcher raises for control flow."""


class RequestRedirect(HTTPException, RoutingException):
    """Raised when the matched URL should redirect (strict slashes, redirect_to)."""

    code = 308

    def __init__(self, new_url: str) -> None:
        super().__init__(new_url)
        self.new_url = new_url

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> Response:
        from .wrappers import redirect

        return redirect(self.new_url, self.code)


class RequestPath(RoutingException):
    def __init__(self, path_info: str) -> None:
        super().__init__()
        self.path_info = path_info


class ValidationError(ValueError):
    """Raised by a converter's ``to_python`` to reject a value: the rule does not match."""


class BuildError(RoutingException, LookupError):
    """No rule can build a URL for the endpoint and values given."""

    def __init__(
        self,
        endpoint: t.Any,
        values: Mapping[str, t.Any],
        method: str | None,
        adapter: MapAdapter | None = None,
    ) -> None:
        super().__init__(endpoint, values, method)
        self.endpoint = endpoint
        self.values = values
        self.method = method
        self.adapter = adapter

    def __str__(self) -> str:
        message = [f"Could not build url for endpoint {self.endpoint!r}"]
        if self.method:
            message.append(f" ({self.method!r})")
        if self.values:
            message.append(f" with values {sorted(self.values)!r}")
        message.append(".")
        if self.adapter is not None:
            rules = self.adapter.map._rules_by_endpoint.get(self.endpoint)
            if rules:
                missing = sorted(rules[0].arguments - set(self.values))
                if missing:
                    message.append(f" Did you forget to specify values {missing!r}?")
            else:
                close = [e for e in self.adapter.map._rules_by_endpoint if _close(e, self.endpoint)]
                if close:
                    message.append(f" Did you mean {close[0]!r} instead?")
        return "".join(message)


def _close(candidate: t.Any, endpoint: t.Any) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, str(candidate), str(endpoint)).ratio() > 0.8


# -- converters


class BaseConverter:
    """Turns one URL part into a Python value and back."""

    regex = "[^/]+"
    weight = 100
    part_isolating = True

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "regex" in cls.__dict__ and "part_isolating" not in cls.__dict__:
            cls.part_isolating = "/" not in cls.regex

    def __init__(self, map: Map, *args: t.Any, **kwargs: t.Any) -> None:
        self.map = map

    def to_python(self, value: str) -> t.Any:
        return value

    def to_url(self, value: t.Any) -> str:
        return quote(str(value), safe=_URL_SAFE)


class UnicodeConverter(BaseConverter):
    """``string(minlength=1, maxlength=None, length=None)``: one path segment."""

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map)
        if length is not None:
            rng = f"{{{int(length)}}}"
        else:
            rng = f"{{{int(minlength)},{'' if maxlength is None else int(maxlength)}}}"
        self.regex = f"[^/]{rng}"


class AnyConverter(BaseConverter):
    """``any(a, b, c)``: one of the listed strings."""

    def __init__(self, map: Map, *items: str) -> None:
        super().__init__(map)
        self.items = set(items)
        self.regex = f"(?:{'|'.join(re.escape(x) for x in items)})"

    def to_url(self, value: t.Any) -> str:
        if value in self.items:
            return str(value)
        valid = "', '".join(sorted(self.items))
        raise ValueError(f"'{value}' is not one of '{valid}'")


class PathConverter(BaseConverter):
    """``path``: like string but accepts slashes."""

    part_isolating = False
    regex = "[^/].*?"
    weight = 200


class NumberConverter(BaseConverter):
    weight = 50
    num_convert: Callable[[str], t.Any] = int
    signed_regex = ""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: t.Any = None,
        max: t.Any = None,
        signed: bool = False,
    ) -> None:
        if signed:
            self.regex = self.signed_regex
        super().__init__(map)
        self.fixed_digits = fixed_digits
        self.min = min
        self.max = max
        self.signed = signed

    def to_python(self, value: str) -> t.Any:
        if self.fixed_digits and len(value) != self.fixed_digits:
            raise ValidationError()
        number = type(self).num_convert(value)
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise ValidationError()
        return number

    def to_url(self, value: t.Any) -> str:
        text = str(type(self).num_convert(value))
        if self.fixed_digits:
            text = text.zfill(self.fixed_digits)
        return text


class IntegerConverter(NumberConverter):
    """``int(fixed_digits=0, min=None, max=None, signed=False)``."""

    regex = r"\d+"
    signed_regex = r"-?\d+"


class FloatConverter(NumberConverter):
    """``float(min=None, max=None, signed=False)``."""

    regex = r"\d+\.\d+"
    signed_regex = r"-?\d+\.\d+"
    num_convert = float

    def __init__(
        self, map: Map, min: float | None = None, max: float | None = None, signed: bool = False
    ) -> None:
        super().__init__(map, min=min, max=max, signed=signed)


class UUIDConverter(BaseConverter):
    regex = (
        r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"
    )

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: t.Any) -> str:
        return str(value)


DEFAULT_CONVERTERS: Mapping[str, type[BaseConverter]] = {
    "default": UnicodeConverter,
    "string": UnicodeConverter,
    "any": AnyConverter,
    "path": PathConverter,
    "int": IntegerConverter,
    "float": FloatConverter,
    "uuid": UUIDConverter,
}


# -- rule parsing

_rule_re = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
_arg_re = re.compile(
    r"""\s*(?:(?P<name>\w+)\s*=\s*)?(?P<value>"[^"]*"|'[^']*'|[^,]*?)\s*(?:,|$)"""
)


def _literal(text: str) -> t.Any:
    if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) >= 2:
        return text[1:-1]
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def parse_converter_args(argstr: str) -> tuple[tuple[t.Any, ...], dict[str, t.Any]]:
    """``"a, b, length=2"`` -> ``(("a", "b"), {"length": 2})``."""
    args: list[t.Any] = []
    kwargs: dict[str, t.Any] = {}
    pos = 0
    argstr = argstr.strip()
    while pos < len(argstr):
        m = _arg_re.match(argstr, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot parse converter arguments {argstr!r}")
        pos = m.end()
        value = _literal(m.group("value"))
        if m.group("name"):
            kwargs[m.group("name")] = value
        else:
            args.append(value)
    return tuple(args), kwargs


def _parse_rule(text: str) -> Iterator[tuple[str | None, str | None, str]]:
    """Yield ``(converter, args, variable)`` or ``(None, None, static_text)``."""
    pos = 0
    for m in _rule_re.finditer(text):
        if m.start() > pos:
            yield None, None, text[pos : m.start()]
        yield m.group("converter") or "default", m.group("args"), m.group("variable")
        pos = m.end()
    if pos < len(text):
        yield None, None, text[pos:]


class _Compiled:
    """A compiled rule string (path or domain): regex, converters, builder, weights."""

    def __init__(self, rule: Rule, text: str, map: Map, quote_static: bool = True) -> None:
        regex_parts: list[str] = []
        self.converters: dict[str, BaseConverter] = {}
        self.builder: list[tuple[bool, str]] = []
        # segment keys for ordering: list of per-segment tuples
        segments: list[list[t.Any]] = [[]]
        merged = False  # after a converter that spans slashes, the rest is one part
        for conv_name, argstr, value in _parse_rule(text):
            if conv_name is None:
                regex_parts.append(re.escape(value))
                self.builder.append((False, quote(value, safe=_URL_SAFE) if quote_static else value))
                pieces = [value] if merged else value.split("/")
                segments[-1].append(("s", pieces[0]))
                for piece in pieces[1:]:
                    segments.append([("s", piece)])
                continue
            if value in self.converters:
                raise ValueError(f"variable name {value!r} used twice.")
            conv = rule.get_converter(value, conv_name, argstr, map)
            self.converters[value] = conv
            regex_parts.append(f"(?P<{{prefix}}{len(self.converters) - 1}>{conv.regex})")
            self.builder.append((True, value))
            segments[-1].append(("c", conv.weight))
            merged = merged or not conv.part_isolating
        self.names = list(self.converters)
        self.regex_template = "".join(regex_parts)
        self.regex = re.compile(self.regex_template.replace("{prefix}", "_a"))
        self.is_static = not self.converters
        self.segments = segments
        self.sort_key = tuple(_segment_key(seg) for seg in segments)

    def regex_for(self, prefix: str) -> str:
        return self.regex_template.replace("{prefix}", prefix)

    def convert(self, m: re.Match[str], prefix: str) -> dict[str, t.Any]:
        result = {}
        for idx, name in enumerate(self.names):
            result[name] = self.converters[name].to_python(m.group(f"{prefix}{idx}"))
        return result

    def static_prefix(self) -> tuple[str, ...]:
        """Leading segments that are wholly static (and followed by more of the rule)."""
        prefix: list[str] = []
        for seg in self.segments[1:-1]:
            if len(seg) != 1 or seg[0][0] != "s":
                break
            prefix.append(seg[0][1])
        return tuple(prefix)


def _segment_key(seg: list[t.Any]) -> tuple[t.Any, ...]:
    if all(kind == "s" for kind, _ in seg):
        return (0,)
    statics = [(i, -len(v)) for i, (kind, v) in enumerate(seg) if kind == "s" and v]
    weights = [v for kind, v in seg if kind == "c"]
    return (1, -len(statics), statics, -len(weights), weights)


class Rule:
    """One URL rule: a path pattern with converters bound to an endpoint."""

    def __init__(
        self,
        string: str,
        defaults: Mapping[str, t.Any] | None = None,
        subdomain: str | None = None,
        methods: Iterable[str] | None = None,
        build_only: bool = False,
        endpoint: t.Any = None,
        strict_slashes: bool | None = None,
        merge_slashes: bool | None = None,
        redirect_to: str | Callable[..., str] | None = None,
        alias: bool = False,
        host: str | None = None,
        websocket: bool = False,
        provide_automatic_options: bool | None = None,
    ) -> None:
        if not string.startswith("/"):
            raise ValueError(f"URL rule '{string}' must start with a slash.")
        self.rule = string
        self.is_leaf = not string.endswith("/")
        self.is_branch = string.endswith("/")
        self.map: Map = None  # type: ignore[assignment]
        self.strict_slashes = strict_slashes
        self.merge_slashes = merge_slashes
        self.subdomain = subdomain
        self.host = host
        self.defaults = dict(defaults) if defaults is not None else None
        self.build_only = build_only
        self.alias = alias
        self.websocket = websocket
        self.provide_automatic_options = provide_automatic_options
        if methods is not None:
            if isinstance(methods, str):
                raise TypeError("'methods' should be a list of strings.")
            methods = {x.upper() for x in methods}
            if "HEAD" not in methods and "GET" in methods:
                methods.add("HEAD")
        self.methods: set[str] | None = methods  # type: ignore[assignment]
        self.endpoint = endpoint
        self.redirect_to = redirect_to
        self.arguments: set[str] = set(map(str, self.defaults or ()))
        self._path: _Compiled | None = None
        self._domain: _Compiled | None = None

    # -- copying (blueprints)
    def get_empty_kwargs(self) -> dict[str, t.Any]:
        return {
            "defaults": self.defaults,
            "subdomain": self.subdomain,
            "methods": self.methods,
            "build_only": self.build_only,
            "endpoint": self.endpoint,
            "strict_slashes": self.strict_slashes,
            "redirect_to": self.redirect_to,
            "alias": self.alias,
            "host": self.host,
            "merge_slashes": self.merge_slashes,
            "websocket": self.websocket,
        }

    def empty(self) -> Rule:
        rule = type(self)(self.rule, **self.get_empty_kwargs())
        rule.provide_automatic_options = self.provide_automatic_options
        return rule

    def get_rules(self, map: Map) -> Iterator[Rule]:
        yield self

    def get_converter(
        self, variable_name: str, converter_name: str, argstr: str | None, map: Map
    ) -> BaseConverter:
        if converter_name not in map.converters:
            raise LookupError(f"the converter {converter_name!r} does not exist")
        args, kwargs = parse_converter_args(argstr) if argstr else ((), {})
        return map.converters[converter_name](map, *args, **kwargs)

    # -- binding
    def bind(self, map: Map, rebind: bool = False) -> None:
        if self.map is not None and not rebind:
            raise RuntimeError(f"url rule {self!r} already bound to map {self.map!r}")
        self.map = map
        if self.strict_slashes is None:
            self.strict_slashes = map.strict_slashes
        if self.merge_slashes is None:
            self.merge_slashes = map.merge_slashes
        if self.subdomain is None:
            self.subdomain = map.default_subdomain
        self.compile()

    def compile(self) -> None:
        self._path = _Compiled(self, self.rule, self.map)
        domain = (self.host or "") if self.map.host_matching else (self.subdomain or "")
        self._domain = (
            _Compiled(self, domain, self.map, quote_static=False) if _rule_re.search(domain) else None
        )
        self._domain_static = domain
        self.arguments = set(map(str, self.defaults or ()))
        self.arguments.update(self._path.converters)
        if self._domain is not None:
            self.arguments.update(self._domain.converters)

    @property
    def _converters(self) -> dict[str, BaseConverter]:
        convs = dict(self._path.converters) if self._path else {}
        if self._domain is not None:
            convs.update(self._domain.converters)
        return convs

    def match_domain(self, domain: str) -> dict[str, t.Any] | None:
        if self._domain is None:
            return {} if domain == self._domain_static else None
        m = self._domain.regex.fullmatch(domain)
        if m is None:
            return None
        try:
            return self._domain.convert(m, "_a")
        except ValidationError:
            return None

    def match(self, path: str, method: str | None = None) -> dict[str, t.Any] | None:
        """Match a path alone (no domain); None when it does not match."""
        assert self._path is not None
        m = self._path.regex.fullmatch(path)
        if m is None:
            return None
        try:
            return self._path.convert(m, "_a")
        except ValidationError:
            return None

    # -- building
    def suitable_for(self, values: Mapping[str, t.Any], method: str | None = None) -> bool:
        if method is not None and self.methods is not None and method not in self.methods:
            return False
        defaults = self.defaults or ()
        for key in self.arguments:
            if key not in defaults and key not in values:
                return False
        if defaults:
            for key, value in defaults.items():  # type: ignore[union-attr]
                if key in values and value != values[key]:
                    return False
        return True

    def build(
        self, values: Mapping[str, t.Any], append_unknown: bool = True
    ) -> tuple[str, str] | None:
        """Return ``(domain_part, path_with_query)``; None if a converter refuses."""
        assert self._path is not None
        defaults = self.defaults or {}
        try:
            path = self._build_part(self._path, values, defaults)
            domain = (
                self._build_part(self._domain, values, defaults)
                if self._domain is not None
                else self._domain_static
            )
        except ValidationError:
            return None
        if append_unknown:
            query = [
                (k, v)
                for k, v in iter_multi_items(values)
                if k not in self.arguments and v is not None
            ]
            if query:
                if self.map.sort_parameters:
                    query.sort(key=self.map.sort_key)
                path += "?" + urlencode(query, safe=_QUERY_SAFE)
        return domain, path

    @staticmethod
    def _build_part(
        compiled: _Compiled, values: Mapping[str, t.Any], defaults: Mapping[str, t.Any]
    ) -> str:
        out = []
        convs = compiled.converters
        for is_var, text in compiled.builder:
            if is_var:
                value = values[text] if text in values else defaults[text]
                try:
                    out.append(convs[text].to_url(value))
                except ValueError as e:
                    raise ValidationError() from e
            else:
                out.append(text)
        return "".join(out)

    def build_compare_key(self) -> tuple[int, int, int]:
        return (1 if self.alias else 0, -len(self.arguments), -len(self.defaults or ()))

    def provides_defaults_for(self, rule: Rule) -> bool:
        return bool(
            not self.build_only
            and self.defaults
            and self.endpoint == rule.endpoint
            and self is not rule
            and self.arguments == rule.arguments
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return (self.rule, self.subdomain, self.host, self.methods, self.endpoint) == (
            other.rule,
            other.subdomain,
            other.host,
            other.methods,
            other.endpoint,
        ) and self.defaults == other.defaults

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.rule

    def __repr__(self) -> str:
        if self.map is None:
            return f"<{type(self).__name__} (unbound)>"
        methods = f" ({', '.join(sorted(self.methods))})" if self.methods else ""
        return f"<{type(self).__name__} {self.rule!r}{methods} -> {self.endpoint}>"


# -- the index


class _Node:
    __slots__ = ("children", "rules", "regex", "ordered", "has_branch")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rules: list[Rule] = []
        self.regex: re.Pattern[str] | None = None
        self.ordered: list[Rule] = []
        self.has_branch = False


def _rule_order(rule: Rule) -> tuple[t.Any, ...]:
    assert rule._path is not None
    return rule._path.sort_key


class _Index:
    """Static dict + trie of dynamic rules with one combined regex per trie node."""

    def __init__(self, rules: list[Rule]) -> None:
        self.static: dict[str, list[Rule]] = {}
        self.root = _Node()
        for rule in rules:
            if rule.build_only:
                continue
            assert rule._path is not None
            if rule._path.is_static:
                self.static.setdefault(rule.rule, []).append(rule)
                continue
            node = self.root
            for seg in rule._path.static_prefix():
                node = node.children.setdefault(seg, _Node())
            node.rules.append(rule)
        self._finish(self.root, [])

    def _finish(self, node: _Node, inherited: list[Rule]) -> None:
        # stable sort: priority first, registration order among equals
        ordered = sorted(inherited + node.rules, key=_rule_order)
        order_index = {id(r): i for i, r in enumerate(inherited + node.rules)}
        ordered.sort(key=lambda r: (_rule_order(r), order_index[id(r)]))
        node.ordered = ordered
        node.has_branch = any(rule.is_branch for rule in ordered)
        if ordered:
            alternatives = []
            for idx, rule in enumerate(ordered):
                assert rule._path is not None
                alternatives.append(f"(?P<_R{idx}>{rule._path.regex_for(f'_{idx}_')})")
            node.regex = re.compile("|".join(alternatives))
        for child in node.children.values():
            self._finish(child, ordered)

    def candidates(self, path: str) -> _Node:
        node = self.root
        children = node.children
        if children:
            for seg in path.split("/")[1:-1]:
                nxt = children.get(seg)
                if nxt is None:
                    break
                node = nxt
                children = node.children
                if not children:
                    break
        return node


class Map:
    """A collection of rules plus the settings they share."""

    default_converters: Mapping[str, type[BaseConverter]] = ImmutableDict(DEFAULT_CONVERTERS)
    lock_class = threading.Lock

    def __init__(
        self,
        rules: Iterable[t.Any] | None = None,
        default_subdomain: str = "",
        strict_slashes: bool = True,
        merge_slashes: bool = True,
        redirect_defaults: bool = True,
        converters: Mapping[str, type[BaseConverter]] | None = None,
        sort_parameters: bool = False,
        sort_key: Callable[[t.Any], t.Any] | None = None,
        host_matching: bool = False,
    ) -> None:
        self._rules: list[Rule] = []
        self._rules_by_endpoint: dict[t.Any, list[Rule]] = {}
        self._index: _Index | None = None
        self._lock = self.lock_class()
        self.default_subdomain = default_subdomain
        self.strict_slashes = strict_slashes
        self.merge_slashes = merge_slashes
        self.redirect_defaults = redirect_defaults
        self.host_matching = host_matching
        self.converters = dict(self.default_converters)
        if converters:
            self.converters.update(converters)
        self.sort_parameters = sort_parameters
        self.sort_key = sort_key
        self._check_domain = host_matching
        for rulefactory in rules or ():
            self.add(rulefactory)

    def add(self, rulefactory: t.Any) -> None:
        for rule in rulefactory.get_rules(self):
            rule.bind(self)
            if rule.subdomain or rule.host:
                self._check_domain = True
            self._rules.append(rule)
            by_endpoint = self._rules_by_endpoint.setdefault(rule.endpoint, [])
            by_endpoint.append(rule)
            by_endpoint.sort(key=Rule.build_compare_key)
        self._index = None

    @property
    def _index_ready(self) -> _Index:
        index = self._index
        if index is None:
            with self._lock:
                index = self._index
                if index is None:
                    index = self._index = _Index(self._rules)
        return index

    def update(self) -> None:
        """Rebuild the matcher now (it is otherwise built on first match)."""
        self._index = None
        _ = self._index_ready

    def iter_rules(self, endpoint: t.Any = None) -> Iterator[Rule]:
        if endpoint is not None:
            return iter(self._rules_by_endpoint.get(endpoint, ()))
        return iter(self._rules)

    def is_endpoint_expecting(self, endpoint: t.Any, *arguments: str) -> bool:
        wanted = set(arguments)
        return any(wanted.issubset(rule.arguments) for rule in self._rules_by_endpoint[endpoint])

    def bind(
        self,
        server_name: str,
        script_name: str | None = None,
        subdomain: str | None = None,
        url_scheme: str = "http",
        default_method: str = "GET",
        path_info: str | None = None,
        query_args: t.Any = None,
    ) -> MapAdapter:
        server_name = server_name.lower()
        if self.host_matching:
            if subdomain is not None:
                raise RuntimeError("host matching enabled and a subdomain was provided")
        elif subdomain is None:
            subdomain = self.default_subdomain
        if script_name is None:
            script_name = "/"
        if path_info is None:
            path_info = "/"
        try:
            server_name = server_name.encode("idna").decode("ascii")
        except UnicodeError:
            pass
        return MapAdapter(
            self, server_name, script_name, subdomain, url_scheme, path_info,
            default_method, query_args,
        )  # fmt: skip

    def bind_to_environ(
        self, environ: t.Any, server_name: str | None = None, subdomain: str | None = None
    ) -> MapAdapter:
        env = getattr(environ, "environ", environ)
        from .wrappers import _environ_host, _environ_path

        wsgi_server_name = _environ_host(env).lower()
        scheme = env.get("wsgi.url_scheme", "http")
        if server_name is None:
            server_name = wsgi_server_name
        else:
            server_name = server_name.lower()
            if scheme == "http" and server_name.endswith(":80"):
                server_name = server_name[:-3]
            elif scheme == "https" and server_name.endswith(":443"):
                server_name = server_name[:-4]
        if subdomain is None and not self.host_matching:
            current = wsgi_server_name.split(".")
            real = server_name.split(".")
            if current[-len(real) :] != real:
                subdomain = "<invalid>"
            else:
                subdomain = ".".join(filter(None, current[: -len(real)]))
        return self.bind(
            server_name,
            _environ_path(env, "SCRIPT_NAME") or "/",
            subdomain,
            scheme,
            env.get("REQUEST_METHOD", "GET"),
            _environ_path(env, "PATH_INFO"),
            env.get("QUERY_STRING", ""),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.iter_rules())!r})"


class MapAdapter:
    """A map bound to one request's host, script name and method."""

    def __init__(
        self,
        map: Map,
        server_name: str,
        script_name: str,
        subdomain: str | None,
        url_scheme: str,
        path_info: str,
        default_method: str,
        query_args: t.Any = None,
    ) -> None:
        self.map = map
        self.server_name = server_name
        if not script_name.endswith("/"):
            script_name += "/"
        self.script_name = script_name
        self.subdomain = subdomain
        self.url_scheme = url_scheme
        self.path_info = path_info or "/"
        self.default_method = default_method
        self.query_args = query_args
        self.websocket = url_scheme in ("ws", "wss")

    # -- matching
    def _domain(self) -> str:
        return self.server_name if self.map.host_matching else (self.subdomain or "")

    def _dynamic(
        self, node: _Node, path: str, method: str, allowed: set[str], branch_only: bool
    ) -> tuple[Rule, re.Match[str], str] | None:
        """First rule in priority order whose pattern, domain and method fit ``path``."""
        if node.regex is None or (branch_only and not node.has_branch):
            return None
        m = node.regex.fullmatch(path)
        if m is None:
            return None
        start = int(m.lastgroup[2:])  # type: ignore[index]
        ordered = node.ordered
        rule = ordered[start]
        if (not branch_only or rule.is_branch) and self._fits(rule, method, allowed):
            return rule, m, f"_{start}_"
        for rule in ordered[start + 1 :]:
            if branch_only and not rule.is_branch:
                continue
            assert rule._path is not None
            m = rule._path.regex.fullmatch(path)  # type: ignore[assignment]
            if m is not None and self._fits(rule, method, allowed):
                return rule, m, "_a"
        return None

    def _fits(self, rule: Rule, method: str, allowed: set[str]) -> bool:
        if self.map._check_domain and rule.match_domain(self._domain()) is None:
            return False
        if rule.methods is not None and method not in rule.methods:
            allowed.update(rule.methods)
            return False
        return True

    def _static(self, rules: list[Rule] | None, method: str, allowed: set[str]) -> Rule | None:
        if rules:
            for rule in rules:
                if self._fits(rule, method, allowed):
                    return rule
        return None

    def _lookup(
        self, path: str, method: str, allowed: set[str]
    ) -> tuple[Rule, dict[str, t.Any]] | None:
        """Match like a depth-first walk that prefers static parts; may raise redirects.

        Raises ``RequestPath`` when the best candidate is the slash form of the path.
        """
        index = self.map._index_ready
        rule = self._static(index.static.get(path), method, allowed)
        if rule is not None:
            return rule, self._values(rule, {})
        want_slash = not path.endswith("/")
        ignored: set[str] = set()
        if want_slash:
            rule = self._static(index.static.get(path + "/"), method, ignored)
            if rule is not None:
                if rule.strict_slashes:
                    raise RequestPath(path + "/")
                return rule, self._values(rule, {})
        found = self._dynamic(index.candidates(path), path, method, allowed, False)
        if want_slash:
            slashed = path + "/"
            branch = self._dynamic(index.candidates(slashed), slashed, method, ignored, True)
            if branch is not None and (
                found is None or _rule_order(branch[0])[:-1] < _rule_order(found[0])
            ):
                if branch[0].strict_slashes:
                    raise RequestPath(slashed)
                found = branch
        if found is None:
            return None
        rule, m, prefix = found
        assert rule._path is not None
        try:
            values = rule._path.convert(m, prefix)
        except ValidationError:
            return None
        return rule, self._values(rule, values)

    def _values(self, rule: Rule, values: dict[str, t.Any]) -> dict[str, t.Any]:
        if self.map._check_domain:
            domain_values = rule.match_domain(self._domain())
            if domain_values:
                values.update(domain_values)
        if rule.defaults:
            values.update(rule.defaults)
        return values

    def match(
        self,
        path_info: str | None = None,
        method: str | None = None,
        return_rule: bool = False,
        query_args: t.Any = None,
        websocket: bool | None = None,
    ) -> tuple[t.Any, dict[str, t.Any]]:
        """Return ``(endpoint or rule, view_args)`` or raise a routing HTTP error."""
        path = self.path_info if path_info is None else path_info
        path = "/" + path.lstrip("/")
        method = (method or self.default_method).upper()
        if query_args is None:
            query_args = self.query_args
        allowed: set[str] = set()
        try:
            found = self._lookup(path, method, allowed)
            if found is None:
                found = self._retry(path, method, allowed, query_args)
        except RequestPath as e:
            raise RequestRedirect(self.make_redirect_url(e.path_info, query_args)) from None
        if found is None:
            if allowed:
                raise MethodNotAllowed(valid_methods=sorted(allowed))
            raise NotFound()
        rule, values = found
        if rule.redirect_to is not None:
            raise RequestRedirect(self._redirect_to_url(rule, values))
        if self.map.redirect_defaults:
            self._check_defaults_redirect(rule, values, method, query_args)
        return (rule if return_rule else rule.endpoint), values

    def _retry(
        self, path: str, method: str, allowed: set[str], query_args: t.Any
    ) -> tuple[Rule, dict[str, t.Any]] | None:
        """After a miss: a non-strict rule without the trailing slash, or merged slashes."""
        if path.endswith("/") and len(path) > 1:
            found = self._lookup(path[:-1], method, allowed)
            if found is not None and not found[0].strict_slashes:
                return found
        if self.map.merge_slashes and "//" in path:
            merged = re.sub("/{2,}", "/", path)
            try:
                found = self._lookup(merged, method, allowed)
            except RequestPath as e:
                merged = e.path_info
                found = self._lookup(merged, method, allowed)
            if found is not None and found[0].merge_slashes:
                raise RequestPath(merged)
        return None

    def _check_defaults_redirect(
        self, rule: Rule, values: dict[str, t.Any], method: str, query_args: t.Any
    ) -> None:
        for other in self.map._rules_by_endpoint.get(rule.endpoint, ()):
            if other.provides_defaults_for(rule) and other.suitable_for(values, method):
                built = other.build(values, append_unknown=False)
                if built is not None:
                    raise RequestRedirect(self.make_redirect_url(built[1], query_args, built[0]))

    def _redirect_to_url(self, rule: Rule, values: dict[str, t.Any]) -> str:
        target = rule.redirect_to
        if callable(target):
            url = target(self, **values)
        else:
            convs = rule._converters

            def sub(m: re.Match[str]) -> str:
                name = m.group("variable")
                value = values[name]
                return convs[name].to_url(value) if name in convs else str(value)

            url = _rule_re.sub(sub, str(target))
        from urllib.parse import urljoin

        return str(urljoin(f"{self.url_scheme}://{self._host()}{self.script_name}", url.lstrip("/")))

    def test(self, path_info: str | None = None, method: str | None = None) -> bool:
        try:
            self.match(path_info, method)
        except RequestRedirect:
            pass
        except HTTPException:
            return False
        return True

    def allowed_methods(self, path_info: str | None = None) -> list[str]:
        try:
            self.match(path_info, method="--")
        except MethodNotAllowed as e:
            return list(e.valid_methods or ())
        except HTTPException:
            pass
        return []

    # -- URLs
    def _host(self, domain_part: str | None = None) -> str:
        if self.map.host_matching:
            return domain_part if domain_part is not None else self.server_name
        subdomain = self.subdomain if domain_part is None else domain_part
        if subdomain:
            return f"{subdomain}.{self.server_name}"
        return self.server_name

    def make_redirect_url(
        self, path_info: str, query_args: t.Any = None, domain_part: str | None = None
    ) -> str:
        from urllib.parse import urlunsplit

        query = None
        if query_args:
            if not isinstance(query_args, str):
                query_args = urlencode(list(iter_multi_items(query_args)), safe=_QUERY_SAFE)
            query = query_args or None
        path_only, sep, built_query = path_info.partition("?")
        if sep:
            query = built_query
        path = "/".join(
            (self.script_name.strip("/"), quote(path_only, safe=_URL_SAFE + "%").lstrip("/"))
        )
        return str(urlunsplit((self.url_scheme or "http", self._host(domain_part), path, query, None)))

    def get_host(self, domain_part: str | None) -> str:
        return self._host(domain_part)

    def build(
        self,
        endpoint: t.Any,
        values: Mapping[str, t.Any] | None = None,
        method: str | None = None,
        force_external: bool = False,
        append_unknown: bool = True,
        url_scheme: str | None = None,
    ) -> str:
        """Build a URL for an endpoint; unknown values become the query string."""
        self.map._index_ready  # noqa: B018  (validates the map once)
        if values:
            if isinstance(values, MultiDict):
                values = {
                    k: (v[0] if len(v) == 1 else v)
                    for k, v in dict.items(values)
                    if len(v) != 0
                }
            values = {k: v for k, v in values.items() if v is not None}
        else:
            values = {}
        built = self._partial_build(endpoint, values, method, append_unknown)
        if built is None:
            raise BuildError(endpoint, values, method, self)
        domain_part, path = built
        if self.map.host_matching:
            same_domain = domain_part == self.server_name
        else:
            same_domain = domain_part == self.subdomain
        if url_scheme is not None:
            force_external = True
        else:
            url_scheme = self.url_scheme
        if not force_external and same_domain:
            return f"{self.script_name.rstrip('/')}/{path.lstrip('/')}"
        scheme = f"{url_scheme}:" if url_scheme else ""
        host = self._host(domain_part)
        return f"{scheme}//{host}{self.script_name[:-1]}/{path.lstrip('/')}"

    def _partial_build(
        self, endpoint: t.Any, values: Mapping[str, t.Any], method: str | None, append_unknown: bool
    ) -> tuple[str, str] | None:
        if method is None:
            built = self._partial_build(endpoint, values, self.default_method, append_unknown)
            if built is not None:
                return built
        for rule in self.map._rules_by_endpoint.get(endpoint, ()):
            if rule.suitable_for(values, method):
                built = rule.build(values, append_unknown)
                if built is not None:
                    return built
        return None
