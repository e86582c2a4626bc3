"""Errors raised in debug mode to explain a common mistake, and their helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .globals import _cv_request

if TYPE_CHECKING:
    from .http.request import Request


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Text or bytes met where the other was expected."""


class DebugFilesKeyError(KeyError, AssertionError):
    """``request.files[key]`` missed because the form was not sent as multipart."""

    def __init__(self, request: Request, key: str) -> None:
        sent = request.form.getlist(key)
        msg = (
            f"request.files has no {key!r}: the request's mimetype is {request.mimetype!r},"
            " not 'multipart/form-data', which means that no file contents were transmitted."
            ' Give the form enctype="multipart/form-data".'
        )
        if sent:
            msg += "\n\nThe browser sent file names instead. This was submitted: " + ", ".join(
                map(repr, sent)
            )
        self.msg = msg

    def __str__(self) -> str:
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """Routing would redirect a request whose method and body a browser drops on 301/302."""

    def __init__(self, request: Request) -> None:
        exc: Any = request.routing_exception
        new_url = getattr(exc, "new_url", "")
        msg = (
            f"A request was sent to {request.url!r}, but routing redirected it to the"
            f" canonical URL {new_url!r}."
        )
        if f"{request.base_url}/" == new_url.partition("?")[0]:
            msg += (
                " The rule ends with a slash, so the URL without one redirects to it."
            )
        msg += (
            " Browsers drop form data on that redirect: send requests to the canonical URL,"
            " or use a 307/308 redirect.\n\nThis error is raised in debug mode only."
        )
        super().__init__(msg)


def check_routing_redirect(request: Request) -> None:
    """Raise :class:`FormDataRoutingRedirect` when routing's redirect of ``request``
    would make a browser drop its method and body (a 301/302 for a POST, say)."""
    exc: Any = request.routing_exception
    if getattr(exc, "code", None) not in (307, 308) and request.method not in (
        "GET", "HEAD", "OPTIONS",
    ):
        raise FormDataRoutingRedirect(request)


def attach_enctype_error_multidict(request: Request) -> None:
    """Make ``request.files[key]`` raise :class:`DebugFilesKeyError` when ``key`` came
    in as a form field (a form posted without the multipart enctype)."""
    files = request.files
    base = type(files)

    class FilesExplained(base):  # type: ignore[valid-type,misc]
        def __getitem__(self, key: str) -> Any:
            try:
                return super().__getitem__(key)
            except KeyError as e:
                if key not in request.form:
                    raise
                raise DebugFilesKeyError(request, key).with_traceback(e.__traceback__) from None

    FilesExplained.__name__ = base.__name__
    FilesExplained.__module__ = base.__module__
    files.__class__ = FilesExplained


def explain_template_loading_attempts(
    app: Any, template: str, attempts: list[tuple[Any, Any, tuple[Any, ...] | None]]
) -> None:
    """Log, on ``app.logger``, which loaders were asked for ``template`` and what each
    answered. ``attempts`` holds ``(loader, owner, source triple or None)`` per loader,
    the owner being the app or a blueprint."""

    lines = [f"Locating template {template!r}:"]
    found = 0
    for idx, (loader, owner, triple) in enumerate(attempts, 1):
        if owner is app:
            where = f"application {owner.import_name!r}"
        else:
            where = f"blueprint {owner.name!r} ({owner.import_name})"
        lines.append(f"{idx:5}: trying loader of {where}")
        lines.append(f"       class: {type(loader).__module__}.{type(loader).__name__}")
        searchpath = getattr(loader, "searchpath", None)
        if searchpath:
            lines.append("       searchpath:")
            lines.extend(f"         - {path}" for path in searchpath)
        if triple is None:
            lines.append("       -> no match")
        else:
            found += 1
            lines.append(f"       -> found ({triple[1] or '<string>'!r})")
    if found == 0:
        lines.append("Error: the template could not be found.")
    elif found > 1:
        lines.append("Warning: multiple loaders returned a match for the template.")
    ctx = _cv_request.get(None)
    blueprint = None if ctx is None else ctx.request.blueprint
    if blueprint is not None and found != 1:
        lines.append(
            "  The template was looked up from an endpoint that belongs to the blueprint"
            f" {blueprint!r}."
        )
        lines.append("  Maybe you did not place a template in the right folder?")
        lines.append("  See https://flask.palletsprojects.com/blueprints/#templates")
    app.logger.info("\n".join(lines))
