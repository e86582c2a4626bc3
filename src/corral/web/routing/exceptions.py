"""The routing exceptions: RequestRedirect, BuildError and their base."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ..http import werkzeug_interop
from ..http.exceptions import HTTPException
from ..http.response import redirect

if t.TYPE_CHECKING:
    from ..http.response import Response
    from .map import MapAdapter

_QUERY_SAFE = "!$'()*,/:;?@"



class RoutingException(Exception, metaclass=werkzeug_interop.WerkzeugKin):
    """Base of the exceptions the matcher raises for control flow (each also a
    ``werkzeug.routing`` exception of the same name when Werkzeug is installed)."""


class _RedirectCode:
    """``RequestRedirect.code``: 308, or Werkzeug's ``RequestRedirect.code`` when
    Werkzeug is installed, so that setting either one changes routing redirects."""

    def __get__(self, obj: t.Any, owner: t.Any = None) -> int:
        kin = werkzeug_interop.namesake(__name__, "RequestRedirect")
        return 308 if kin is None else int(kin.code)


class RequestRedirect(HTTPException, RoutingException):
    """Raised when the matched URL should redirect (strict slashes, redirect_to)."""

    code = _RedirectCode()

    def __init__(self, new_url: str) -> None:
        super().__init__(new_url)
        self.new_url = new_url

    def get_response(self, environ: t.Any = None, scope: t.Any = None) -> Response:
        return redirect(self.new_url, self.code)


class RequestPath(RoutingException):
    def __init__(self, path_info: str) -> None:
        Exception.__init__(self)
        self.path_info = path_info


class BuildError(RoutingException, LookupError):
    """No rule can build a URL for the endpoint and values given."""

    def __init__(
        self,
        endpoint: t.Any,
        values: Mapping[str, t.Any],
        method: str | None,
        adapter: MapAdapter | None = None,
    ) -> None:
        Exception.__init__(self, endpoint, values, method)
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
    import difflib  # loaded for a failed url_for's suggestion only

    return difflib.SequenceMatcher(None, str(candidate), str(endpoint)).ratio() > 0.8


