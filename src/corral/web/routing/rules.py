"""Rules: parsing ``/<converter(args):name>`` strings, compiling and building them."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, quote_plus

from .converters import URL_SAFE as _URL_SAFE
from .converters import BaseConverter, PathConverter, ValidationError

if t.TYPE_CHECKING:
    from .map import Map

_QUERY_SAFE = "!$'()*,/:;?@"
# the path converter's pattern, and the same as a greedy repetition (see _Compiled)
_LAZY_REST = PathConverter.regex
_GREEDY_REST = _LAZY_REST.removesuffix("?")


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
        last: BaseConverter | None = None  # the converter of the last part, if it is one
        for conv_name, argstr, value in _parse_rule(text):
            if conv_name is None:
                last = None
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
            last = conv
            self.builder.append((True, value))
            segments[-1].append(("c", conv.weight))
            merged = merged or not conv.part_isolating
        self.names = list(self.converters)
        self._group_names: dict[str, tuple[tuple[str, str, t.Any], ...]] = {}
        # the rule's pattern as its parts spell it, to compare two rules' shapes
        self.shape = "".join(regex_parts)
        if last is not None and last.regex == _LAZY_REST:
            # A path converter that ends the rule takes the rest of the path whether
            # its repetition is lazy or greedy (the match is a full match); greedy,
            # the regular expression engine takes it in one step instead of trying
            # to end the match after every character (about 3x faster on a
            # 25-character path, and it runs for every request such a rule serves).
            regex_parts[-1] = regex_parts[-1].replace(_LAZY_REST, _GREEDY_REST)
        self.regex_template = "".join(regex_parts)
        self.regex = re.compile(self.regex_template.replace("{prefix}", "_a"))
        self.is_static = not self.converters
        self.segments = segments
        self.sort_key = tuple(_segment_key(seg) for seg in segments)
        self.slashless_key = tuple(_segment_key(seg) for seg in _strip_slash(segments))

    def regex_for(self, prefix: str) -> str:
        return self.regex_template.replace("{prefix}", prefix)

    def groups_for(self, prefix: str) -> tuple[tuple[str, str, t.Any], ...]:
        """``(variable, group name, to_python)`` for each converter, under ``prefix``."""
        groups = self._group_names.get(prefix)
        if groups is None:
            groups = self._group_names[prefix] = tuple(
                (name, f"{prefix}{idx}", self.converters[name].to_python)
                for idx, name in enumerate(self.names)
            )
        return groups

    def convert(self, m: re.Match[str], prefix: str) -> dict[str, t.Any]:
        groups = self._group_names.get(prefix) or self.groups_for(prefix)
        if len(groups) == 1:
            name, gname, to_python = groups[0]
            return {name: to_python(m.group(gname))}
        group = m.group
        return {name: to_python(group(gname)) for name, gname, to_python in groups}

    def build_plan(self, defaults: Mapping[str, t.Any]) -> _BuildPlan:
        """How to build this part: its leading text, then ``(variable, to_url,
        following text)`` for each variable. A variable with a default is built
        from the default once, here, and becomes text (as Werkzeug's builder
        does); a converter that refuses the default raises ``ValueError``."""
        head: list[str] = []
        steps: list[tuple[str, Callable[[t.Any], str], str]] = []
        for is_var, text in self.builder:
            if is_var and text not in defaults:
                steps.append((text, self.converters[text].to_url, ""))
                continue
            if is_var:
                text = self.converters[text].to_url(defaults[text])
            if steps:
                name, to_url, tail = steps[-1]
                steps[-1] = (name, to_url, tail + text)
            else:
                head.append(text)
        return "".join(head), tuple(steps)

    def static_prefix(self) -> tuple[str, ...]:
        """Leading segments that are wholly static (and followed by more of the rule)."""
        prefix: list[str] = []
        for seg in self.segments[1:-1]:
            if len(seg) != 1 or seg[0][0] != "s":
                break
            prefix.append(seg[0][1])
        return tuple(prefix)


#: a part's leading text, then ``(variable, to_url, following text)`` per variable
_BuildPlan = tuple[str, tuple[tuple[str, Callable[[t.Any], str], str], ...]]
_QUERY_PLAIN_CHARS = "[A-Za-z0-9_.~ " + re.escape(_QUERY_SAFE) + "-]*"
#: text that ``quote_plus(text, safe=_QUERY_SAFE)`` returns unchanged but for
#: its spaces, which become ``+``
_QUERY_PLAIN = re.compile(_QUERY_PLAIN_CHARS).fullmatch
#: ``key=value`` where key and value are such text (neither holds ``=``)
_QUERY_PLAIN_PAIR = re.compile(f"{_QUERY_PLAIN_CHARS}={_QUERY_PLAIN_CHARS}").fullmatch
#: the types whose text in a query string is what an f-string makes of them
_QUERY_PLAIN_TYPES = frozenset((str, int, float))


def _fill(plan: _BuildPlan, values: Mapping[str, t.Any]) -> str:
    """The text of a part built by ``plan`` from ``values`` (a converter's
    ``ValueError`` propagates)."""
    text, steps = plan
    for name, to_url, tail in steps:
        text += to_url(values[name]) + tail
    return text


def _query_text(value: t.Any) -> str:
    """One key or value of a query string, as ``urlencode`` with
    ``quote_plus`` and the query's safe characters spells it."""
    if type(value) is not str:
        if isinstance(value, bytes):
            return quote_plus(value, safe=_QUERY_SAFE)
        value = str(value)
    if _QUERY_PLAIN(value):
        return value.replace(" ", "+")
    return quote_plus(value, safe=_QUERY_SAFE)


def encode_query(pairs: Iterable[tuple[t.Any, t.Any]]) -> str:
    """The query string of ``(key, value)`` pairs, pairs whose value is None
    left out: ``urlencode(pairs, safe=_QUERY_SAFE)``, as Werkzeug builds it.

    A str or number key and value that need no quoting (the usual case) are
    written as they are, without a call per key and value.
    """
    out = []
    for key, value in pairs:
        if value is None:
            continue
        text = f"{key}={value}"
        if not (
            type(key) in _QUERY_PLAIN_TYPES
            and type(value) in _QUERY_PLAIN_TYPES
            and _QUERY_PLAIN_PAIR(text)
        ):
            text = f"{_query_text(key)}={_query_text(value)}"
        out.append(text)
    return "&".join(out).replace(" ", "+")  # quoted text holds no spaces


def _strip_slash(segments: list[list[t.Any]]) -> list[list[t.Any]]:
    """The segments of a rule ending in ``/`` as if the slash were not there."""
    last = list(segments[-1])
    if last == [("s", "")]:
        return segments[:-1]
    if last and last[-1][0] == "s" and last[-1][1].endswith("/"):
        text = last[-1][1][:-1]
        last[-1:] = [("s", text)] if text else []
    return [*segments[:-1], last]


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
        self.methods: set[str] | None = methods
        self.endpoint = endpoint
        self.redirect_to = redirect_to
        self.arguments: set[str] = set(map(str, self.defaults or ()))
        self._path: _Compiled | None = None
        self._required: tuple[str, ...] = ()
        self._order = 0
        self._domain: _Compiled | None = None
        self._path_plan: _BuildPlan | None = None  # how to build, set when bound
        self._domain_plan: _BuildPlan | None = None

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
        self._required = tuple(sorted(self.arguments - set(self.defaults or ())))
        defaults = self.defaults or {}
        try:
            self._path_plan = self._path.build_plan(defaults)
            self._domain_plan = self._domain.build_plan(defaults) if self._domain else None
        except ValueError:
            # a converter refuses its own default: the rule builds no URL
            self._path_plan = self._domain_plan = None

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
        for key in self._required:
            if key not in values:
                return False
        defaults = self.defaults
        if defaults:
            for key, value in defaults.items():
                if key in values and value != values[key]:
                    return False
        return True

    def build(
        self, values: Mapping[str, t.Any], append_unknown: bool = True
    ) -> tuple[str, str] | None:
        """Return ``(domain_part, path_with_query)``; None if a converter refuses.

        The values not among the rule's arguments become the query string
        (unless ``append_unknown`` is false), None values left out.
        """
        plan = self._path_plan
        if plan is None:
            return None
        try:
            path = _fill(plan, values)
            domain_plan = self._domain_plan
            domain = self._domain_static if domain_plan is None else _fill(domain_plan, values)
        except ValueError:
            return None
        arguments = self.arguments
        if append_unknown and not arguments.issuperset(values):
            query: list[tuple[t.Any, t.Any]] = []
            for key, value in values.items():
                if key not in arguments:
                    if isinstance(value, (list, tuple, set)):  # one pair per item
                        query.extend([(key, item) for item in value])
                    else:
                        query.append((key, value))
            url_map = self.map
            if url_map.sort_parameters:
                query.sort(key=url_map.sort_key)  # before None values go, as Werkzeug sorts
            text = encode_query(query)
            if text:
                path += "?" + text
        return domain, path

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
