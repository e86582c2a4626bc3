"""Map (the rules and the settings they share) and MapAdapter (a map bound to
one request: matching and URL building)."""

from __future__ import annotations

import re
import threading
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, urljoin, urlunsplit

from ..http.datastructures.structures import ImmutableDict, MultiDict
from ..http.exceptions import BadHost, HTTPException, MethodNotAllowed, NotFound
from ..http.parsing import iter_multi_items
from ..http.warn import warn
from ..http.wsgi import environ_text, get_host
from .converters import (
    DEFAULT_CONVERTERS,
    BaseConverter,
    ValidationError,
)
from .converters import URL_SAFE as _URL_SAFE
from .exceptions import BuildError, RequestPath, RequestRedirect
from .matcher import _Index, _Node, _slash_first
from .rules import Rule, _rule_re, encode_query

_BOUND_HOSTS_MAX = 64  # distinct hosts a map keeps its binding for


_FOREIGN_RULE_ATTRS = (
    "defaults", "subdomain", "methods", "build_only", "endpoint", "strict_slashes",
    "merge_slashes", "redirect_to", "alias", "host", "websocket",
)  # fmt: skip


def _adopt_rule(rule: t.Any) -> Rule:
    """A corral.web Rule made from another library's rule object (a Werkzeug
    ``Rule``, as yielded by ``Submount``/``EndpointPrefix`` rule factories)."""
    kwargs = {name: getattr(rule, name) for name in _FOREIGN_RULE_ATTRS if hasattr(rule, name)}
    if kwargs.get("methods") is not None:
        kwargs["methods"] = sorted(kwargs["methods"])
    return Rule(rule.rule, **kwargs)


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
        self._bound_hosts: dict[tuple[t.Any, ...], tuple[str, str, str | None, str]] = {}
        self._path_adapter: MapAdapter | None = None
        #: Host headers this map was bound to without an error
        self._bound_host_names: set[str] = set()
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
            if not isinstance(rule, Rule):
                rule = _adopt_rule(rule)
            rule.bind(self)
            rule._order = len(self._rules)
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
                    index = self._index = _Index(self._rules, self._rules_by_endpoint)
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
        host, port_sep, port = server_name.partition(":")  # the port is not part of IDNA
        try:
            server_name = f"{host.encode('idna').decode('ascii')}{port_sep}{port}"
        except UnicodeError as e:
            raise BadHost() from e
        return MapAdapter(
            self, server_name, script_name, subdomain, url_scheme, path_info,
            default_method, query_args,
        )  # fmt: skip

    def path_adapter(self) -> MapAdapter:
        """An adapter bound to no host, for matching a path and method when no rule
        depends on the host (``_check_domain`` false, as without host or subdomain
        matching): it answers what a bound adapter answers, except that the URL of
        a redirect it raises carries no host (bind to the request for that)."""
        adapter = self._path_adapter
        subdomain = self.default_subdomain or ""
        if adapter is None or adapter.subdomain != subdomain:
            adapter = self._path_adapter = MapAdapter(self, "", "/", subdomain, "http", "/", "GET")
        return adapter

    def binds_host(self, host: str | None) -> bool:
        """Whether requests with this Host header were bound before, without an
        error (an invalid host name is a 400 when the map is bound)."""
        return host in self._bound_host_names

    def bind_to_environ(
        self, environ: t.Any, server_name: str | None = None, subdomain: str | None = None
    ) -> MapAdapter:
        """Bind the map to a WSGI environ (or a request holding one): the host,
        script name, scheme and subdomain come from the environ, unless
        ``server_name`` or ``subdomain`` are given.

        The host part is worked out once per distinct (Host header, scheme,
        script name) and kept, so binding each request of a site costs a dict
        lookup plus the adapter itself.
        """
        env = environ if type(environ) is dict else getattr(environ, "environ", environ)
        host = env.get("HTTP_HOST")
        key = (
            host if host is not None else (env.get("SERVER_NAME"), env.get("SERVER_PORT")),
            env.get("wsgi.url_scheme", "http"), env.get("SCRIPT_NAME", ""),
            server_name, subdomain, self.default_subdomain, self.host_matching,
        )  # fmt: skip
        bound = self._bound_hosts.get(key)
        if bound is None:
            bound, keep = self._bind_host(env, server_name, subdomain)
            if keep and len(self._bound_hosts) < _BOUND_HOSTS_MAX:
                self._bound_hosts[key] = bound
                if host is not None:
                    self._bound_host_names.add(host)
        server_name, script_name, subdomain, scheme = bound
        path = env.get("PATH_INFO", "")
        if not path.isascii():
            path = environ_text(env, "PATH_INFO")
        return MapAdapter(
            self, server_name, script_name, subdomain, scheme, path,
            env.get("REQUEST_METHOD", "GET"), env.get("QUERY_STRING", ""),
        )  # fmt: skip

    def _bind_host(
        self, env: t.Any, server_name: str | None, subdomain: str | None
    ) -> tuple[tuple[str, str, str | None, str], bool]:
        """``(server name, script name, subdomain, scheme)`` for
        :meth:`bind_to_environ`, and whether it may be kept for the same key
        (not when the host did not match the configured server name)."""
        wsgi_server_name = get_host(env).lower()
        scheme = env.get("wsgi.url_scheme", "http")
        keep = True
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
                warn(
                    f"Current server name {wsgi_server_name!r} doesn't match configured"
                    f" server name {server_name!r}",
                    stacklevel=3,
                )
                subdomain = "<invalid>"
                keep = False
            else:
                subdomain = ".".join(filter(None, current[: -len(real)]))
        adapter = self.bind(server_name, environ_text(env, "SCRIPT_NAME") or "/", subdomain, scheme)
        return (adapter.server_name, adapter.script_name, adapter.subdomain, scheme), keep

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
        start, rule, _groups = node.by_group[m.lastgroup]  # type: ignore[index]
        ordered = node.ordered
        if (not branch_only or rule.is_branch) and self._fits(rule, method, allowed):
            return rule, m, f"_{start}_"
        for rule in ordered[start + 1 :]:
            if branch_only and not rule.is_branch:
                continue
            assert rule._path is not None
            m = rule._path.regex.fullmatch(path)
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
        subdomain = self.subdomain
        if subdomain and not self.map._check_domain and subdomain != self.map.default_subdomain:
            return None  # every rule is on the default subdomain; this host is not
        index = self.map._index or self.map._index_ready
        static = index.static.get(path)
        if static is not None:
            rule = static[0]
            if len(static) == 1 and (rule.methods is None or method in rule.methods):
                if not self.map._check_domain:
                    return rule, dict(rule.defaults) if rule.defaults else {}
            fitting = self._static(static, method, allowed)
            if fitting is not None:
                return fitting, self._values(fitting, {})
        want_slash = path[-1] != "/"
        ignored: set[str] = set()
        if want_slash and path in index.slash_static:
            fitting = self._static(index.static.get(path + "/"), method, ignored)
            if fitting is not None:
                if fitting.strict_slashes:
                    raise RequestPath(path + "/")
                return fitting, self._values(fitting, {})
        found = self._dynamic(index.candidates(path), path, method, allowed, False)
        if want_slash and index.dynamic_branch:
            slashed = path + "/"
            branch = self._dynamic(index.candidates(slashed), slashed, method, ignored, True)
            if branch is not None and (found is None or _slash_first(branch[0], found[0])):
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
        if self.map._check_domain or rule.defaults:
            values = self._values(rule, values)
        return rule, values

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
        if path[:1] != "/" or path[1:2] == "/":
            path = "/" + path.lstrip("/")
        method = (method or self.default_method).upper()
        allowed: set[str] = set()
        try:
            found = self._lookup(path, method, allowed)
            if found is None:
                found = self._retry(path, method, allowed, query_args)
        except RequestPath as e:
            if query_args is None:
                query_args = self.query_args
            raise RequestRedirect(self.make_redirect_url(e.path_info, query_args)) from None
        if found is None:
            if allowed:
                raise MethodNotAllowed(valid_methods=sorted(allowed))
            raise NotFound()
        rule, values = found
        if rule.redirect_to is not None:
            raise RequestRedirect(self._redirect_to_url(rule, values))
        url_map = self.map
        if url_map.redirect_defaults and (url_map._index or url_map._index_ready).providers:
            if query_args is None:
                query_args = self.query_args
            self._check_defaults_redirect(rule, values, method, query_args)
        if return_rule:
            return rule, values
        return rule.endpoint, values

    def _retry(
        self, path: str, method: str, allowed: set[str], query_args: t.Any
    ) -> tuple[Rule, dict[str, t.Any]] | None:
        """After a miss: a non-strict rule without the trailing slash, or merged slashes."""
        if path.endswith("/") and len(path) > 1:
            found = self._lookup(path[:-1], method, set())
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
        index = self.map._index_ready
        for other in index.providers.get(id(rule), ()):
            if other.suitable_for(values, method):
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
        query = None
        if query_args:
            if not isinstance(query_args, str):
                query_args = encode_query(iter_multi_items(query_args))
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
        """Build a URL for an endpoint; unknown values become the query string.

        Values that are None are left out (but not those of a ``MultiDict``,
        whose keys with one value give that value, as Werkzeug does). A URL
        on the bound host and scheme is a path, unless ``force_external``.
        """
        if not values:
            values = {}
        elif type(values) is dict:
            for value in values.values():
                if value is None:
                    values = {k: v for k, v in values.items() if v is not None}
                    break
        elif isinstance(values, MultiDict):
            values = {
                k: (v[0] if len(v) == 1 else v)
                for k, v in dict.items(values)
                if len(v) != 0
            }
        else:
            values = {k: v for k, v in values.items() if v is not None}
        # The first rule of the endpoint that takes the values (with no method
        # given, the rules allowing the default method first); with host
        # matching, a rule on the bound host before the others.
        rules = self.map._rules_by_endpoint.get(endpoint, ())
        host_matching = self.map.host_matching
        bound = self.server_name if host_matching else self.subdomain
        host = bound if host_matching else None
        chosen = None
        for wanted in (self.default_method, None) if method is None else (method,):
            for rule in rules:
                if rule.suitable_for(values, wanted):
                    built = rule.build(values, append_unknown)
                    if built is not None:
                        if host is None or built[0] == host:
                            chosen = rule, built
                            break
                        if chosen is None:
                            chosen = rule, built
            if chosen is not None:
                break
        else:
            raise BuildError(endpoint, dict(values), method, self)
        rule, (domain_part, path) = chosen
        websocket = rule.websocket
        if not (force_external or websocket) and domain_part == bound:
            return f"{self.script_name.rstrip('/')}/{path.lstrip('/')}"
        # an absolute URL (always for a WebSocket rule)
        if url_scheme is None:
            url_scheme = self.url_scheme
        secure = url_scheme == "https" or url_scheme == "wss"
        if websocket:
            url_scheme = "wss" if secure else "ws"
        elif url_scheme:
            url_scheme = "https" if secure else "http"
        scheme = f"{url_scheme}:" if url_scheme else ""
        host = self._host(domain_part)
        return f"{scheme}//{host}{self.script_name[:-1]}/{path.lstrip('/')}"
