"""Errors raised in debug mode to explain a common mistake, and their helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request_wrapper import Request


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
