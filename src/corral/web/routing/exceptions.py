"""The routing exceptions: RequestRedirect, BuildError and their base."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping
from functools import cached_property

from ..http import werkzeug_interop
from ..http.exceptions import HTTPException
from ..http.response import redirect

if t.TYPE_CHECKING:
    from ..http.response import Response
    from .map import MapAdapter
    from .rules import Rule

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

    @cached_property
    def suggested(self) -> Rule | None:
        """The rule of the map closest to what was asked (see :meth:`closest_rule`)."""
        return self.closest_rule(self.adapter)

    def closest_rule(self, adapter: MapAdapter | None) -> Rule | None:
        """The rule of the adapter's map whose endpoint is most like the one
        asked for (then one that takes the values, then one allowing the method),
        as Werkzeug scores them."""
        import difflib  # loaded for a failed build's message only

        def score(rule: Rule) -> float:
            return sum([
                0.98 * difflib.SequenceMatcher(None, str(rule.endpoint), str(self.endpoint)).ratio(),
                0.01 * bool(set(self.values or ()).issubset(rule.arguments)),
                0.01 * bool(rule.methods and self.method in rule.methods),
            ])  # fmt: skip

        if adapter is not None and adapter.map._rules:
            return max(adapter.map._rules, key=score)
        return None

    def __str__(self) -> str:
        message = [f"Could not build url for endpoint {self.endpoint!r}"]
        if self.method:
            message.append(f" ({self.method!r})")
        if self.values:
            message.append(f" with values {sorted(self.values)!r}")
        message.append(".")
        rule = self.suggested
        if rule is not None:
            if self.endpoint != rule.endpoint:
                message.append(f" Did you mean {rule.endpoint!r} instead?")
            else:
                if self.method and rule.methods is not None and self.method not in rule.methods:
                    message.append(f" Did you mean to use methods {sorted(rule.methods)!r}?")
                missing = rule.arguments.union(rule.defaults or ()) - set(self.values)
                if missing:
                    message.append(f" Did you forget to specify values {sorted(missing)!r}?")
        return "".join(message)
