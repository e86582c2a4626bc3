"""Binding the URL map to a request without re-deriving the host part each time."""

from __future__ import annotations

from typing import Any

from .routing import Map, MapAdapter

_ADAPTER_TEMPLATES_MAX = 64
_PER_REQUEST = ("path_info", "default_method", "query_args")
_new_adapter = object.__new__


def _adapter_template(
    url_map: Map, host: str, script: str, scheme: str, subdomain: str
) -> dict[str, Any] | None:
    """The attributes of a MapAdapter bound to host/script/scheme/subdomain, when
    its constructor is seen to keep the per-request values as plain attributes."""
    one = MapAdapter(url_map, host, script, subdomain, scheme, "/a", "GET", "x=1")
    two = MapAdapter(url_map, host, script, subdomain, scheme, "/b", "POST", "y=2")
    d1, d2 = dict(one.__dict__), dict(two.__dict__)
    if [d1.get(k) for k in _PER_REQUEST] != ["/a", "GET", "x=1"] or [
        d2.get(k) for k in _PER_REQUEST
    ] != ["/b", "POST", "y=2"]:
        return None
    for k in _PER_REQUEST:
        del d1[k], d2[k]
    return d1 if d1 == d2 else None


def bind_plain(
    url_map: Map, environ: dict[str, Any], cache: dict[Any, Any]
) -> MapAdapter | None:
    """``url_map.bind_to_environ(environ, subdomain=default)`` for the common case
    (an ASCII Host header, http or https); None to take the general path.

    The host-dependent part of the adapter is built once per (host, script,
    scheme) and copied for each request."""
    host = environ.get("HTTP_HOST")
    path = environ.get("PATH_INFO", "")
    script = environ.get("SCRIPT_NAME", "")
    if host is None or not (host.isascii() and path.isascii() and script.isascii()):
        return None
    scheme = environ.get("wsgi.url_scheme", "http")
    subdomain = url_map.default_subdomain or ""
    key = (host, script, scheme, subdomain, url_map)
    entry = cache.get(key)
    if entry is None:
        server_name = host.lower()
        if scheme == "http":
            if server_name.endswith(":80"):
                server_name = server_name[:-3]
        elif scheme == "https":
            if server_name.endswith(":443"):
                server_name = server_name[:-4]
        else:
            return None
        template = _adapter_template(url_map, server_name, script or "/", scheme, subdomain)
        entry = (template, server_name)
        if len(cache) < _ADAPTER_TEMPLATES_MAX:
            cache[key] = entry
    template, server_name = entry
    if template is None:
        return MapAdapter(
            url_map,
            server_name,
            script or "/",
            subdomain,
            scheme,
            path,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("QUERY_STRING", ""),
        )
    adapter = _new_adapter(MapAdapter)
    attrs = template.copy()
    attrs["path_info"] = path or "/"
    attrs["default_method"] = environ.get("REQUEST_METHOD", "GET")
    attrs["query_args"] = environ.get("QUERY_STRING", "")
    adapter.__dict__ = attrs
    return adapter  # type: ignore[no-any-return]
