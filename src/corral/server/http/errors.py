"""Errors shared by the parser, the request cycle and the workers."""

from __future__ import annotations

STATUS_REASONS: dict[int, str] = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class ParseError(Exception):
    """A protocol violation: answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.status} {self.reason}"


class RequestTimeout(BaseException):
    """Raised into the application's frame when a request exceeds ``--timeout``.

    It derives from :class:`BaseException` so that an application's
    ``except Exception`` does not swallow it; the request cycle answers 503 when
    no byte of the response was sent yet and closes the connection.
    """


class ClientDisconnected(OSError):
    """The client went away while the request body was being read."""
