"""What the parser tests share: the hypothesis settings of their property tests,
and the outcome of feeding the parser a stream in pieces."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

from hypothesis import HealthCheck, settings

from corral.server.http.errors import ParseError
from corral.server.http.head import END, Limits, RequestHead
from corral.server.http.parser import RequestParser


def property_settings(max_examples: int = 300) -> Any:
    """Hypothesis settings for the parser's property tests: no deadline (the
    machine is shared), no example database, large inputs allowed."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def parse_outcome(pieces: list[bytes], limits: Limits | None = None
                  ) -> tuple[list[Any], tuple[int, str] | None, bool]:
    """(events with the bytes of one message merged, (status, reason) of the error
    or None, whether a message was still in progress) after the pieces and EOF."""
    parser = RequestParser(limits)
    out: list[Any] = []
    error: tuple[int, str] | None = None
    try:
        for piece in [*pieces, None]:
            events = parser.feed(piece) if piece is not None else parser.feed_eof()
            for ev in events:
                if isinstance(ev, RequestHead):
                    out.append(astuple(ev))
                elif ev is END:
                    out.append("END")
                elif out and isinstance(out[-1], bytes):
                    out[-1] += ev
                else:
                    out.append(ev)
    except ParseError as exc:
        error = (exc.status, exc.reason)
    return out, error, parser.in_message
