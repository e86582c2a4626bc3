"""TLS for listeners: the server context from the settings, and a handshake that
never takes a worker down.

Settings read (Gunicorn's names): ``certfile``, ``keyfile``, ``ca_certs``,
``cert_reqs`` (0 none, 1 optional, 2 required client certificate), ``ciphers``,
``do_handshake_on_connect``, ``suppress_ragged_eofs`` (true: a peer that closes
the connection without a TLS close_notify is read as a plain end of stream;
false: reading then fails with :class:`ssl.SSLEOFError`).  The context carries
that choice (:func:`suppresses_ragged_eofs`) for the code wrapping its sockets.

Blocking workers call, on each accepted connection of a TLS listener::

    tls_sock = accept_tls(sock, listener.ssl_context, settings, log)
    if tls_sock is None:        # plain HTTP, garbage, a failed or slow handshake:
        return                  # already answered/closed and logged at debug level

Event-loop workers pass the context to the loop (``ssl=ctx``) with
``ssl_handshake_timeout=handshake_timeout(settings)``; the loop reports failed
handshakes to its exception handler without harm to the worker.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING, Any

from corral.server.http.response import error_response

if TYPE_CHECKING:
    from corral.server.config import Settings

TLS_RECORD_HANDSHAKE = 0x16  # first byte of every TLS ClientHello
CERT_REQS = {0: ssl.CERT_NONE, 1: ssl.CERT_OPTIONAL, 2: ssl.CERT_REQUIRED}


class TLSConfigError(ValueError):
    """The TLS settings cannot make a context (one-line message)."""


_RAGGED = "corral_suppress_ragged_eofs"  # attribute of the contexts made here


def suppresses_ragged_eofs(ctx: ssl.SSLContext) -> bool:
    """The ``suppress_ragged_eofs`` setting the context was made with (True for
    contexts made elsewhere, as in :meth:`ssl.SSLContext.wrap_socket`)."""
    return bool(getattr(ctx, _RAGGED, True))


def make_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A server-side context from the TLS settings, or None when no certfile is set;
    an ``ssl_context`` hook (Gunicorn's) may replace or adjust it.

    Raises :class:`TLSConfigError` naming the setting at fault.
    """
    if not settings.certfile:
        return None
    try:
        ctx = settings.ssl_context(settings, lambda: _settings_context(settings))
    except TLSConfigError:
        raise
    except Exception as exc:
        raise TLSConfigError(f"ssl_context hook: {type(exc).__name__}: {exc}") from exc
    if not isinstance(ctx, ssl.SSLContext):
        raise TLSConfigError(f"ssl_context hook: returned {type(ctx).__name__}, "
                             "not an ssl.SSLContext")
    if not hasattr(ctx, _RAGGED):
        setattr(ctx, _RAGGED, settings.suppress_ragged_eofs)
    return ctx


def _settings_context(settings: Settings) -> ssl.SSLContext:
    """The context the TLS settings describe."""
    certfile = settings.certfile
    if not certfile:
        raise TLSConfigError("certfile: TLS needs a certificate file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    setattr(ctx, _RAGGED, settings.suppress_ragged_eofs)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    keyfile = settings.keyfile or None
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"certfile/keyfile: cannot load {certfile!r}: {exc}") from None
    reqs = settings.cert_reqs
    if reqs not in CERT_REQS:
        raise TLSConfigError(f"cert_reqs: must be 0, 1 or 2, got {reqs!r}")
    ca_certs = settings.ca_certs
    if ca_certs:
        try:
            ctx.load_verify_locations(ca_certs)
        except (OSError, ssl.SSLError) as exc:
            raise TLSConfigError(f"ca_certs: cannot load {ca_certs!r}: {exc}") from None
    elif reqs:
        raise TLSConfigError("cert_reqs: client certificates need ca_certs")
    ctx.verify_mode = CERT_REQS[reqs]
    ciphers = settings.ciphers
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError:
            raise TLSConfigError(f"ciphers: no cipher can be selected from {ciphers!r}") from None
    return ctx


def handshake_timeout(settings: Settings) -> float:
    """Seconds a client gets to finish the handshake: the header timeout (or 10)."""
    return settings.header_timeout or 10.0


def accept_tls(
    sock: socket.socket, ctx: ssl.SSLContext, settings: Settings, log: Any = None
) -> ssl.SSLSocket | None:
    """Wrap an accepted blocking socket and complete the handshake within
    :func:`handshake_timeout`; None (socket closed) on any failure.

    A client that speaks plain HTTP to the TLS port gets a plain-text 400 first.
    With ``do_handshake_on_connect`` false the handshake still happens here, in the
    code serving this connection (never in an accept loop shared with others).
    """
    timeout = handshake_timeout(settings)
    try:
        sock.settimeout(timeout)
        first = sock.recv(1, socket.MSG_PEEK)
        if not first:
            sock.close()
            return None
        if first[0] != TLS_RECORD_HANDSHAKE:
            refuse_plain(sock, first, log)
            return None
        tls = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False,
                              suppress_ragged_eofs=suppresses_ragged_eofs(ctx))
    except (OSError, ValueError) as exc:
        _close(sock, log, exc)
        return None
    try:
        tls.do_handshake()
    except (OSError, ValueError) as exc:  # ssl.SSLError and timeouts are OSErrors
        _close(tls, log, exc)
        return None
    return tls


def refuse_plain(sock: socket.socket, first: bytes, log: Any) -> None:
    """Non-TLS bytes on a TLS listener: a plain-text 400 when they look like
    HTTP, then close."""
    if log is not None:
        log.debug("Non-TLS bytes on a TLS listener (first byte %r)", first)
    if first.isalpha():  # looks like an HTTP method: say so in plain text
        try:
            sock.sendall(error_response(400, "plain HTTP request sent to an HTTPS port"))
        except OSError:
            pass
    sock.close()


def _close(sock: socket.socket, log: Any, exc: BaseException) -> None:
    if log is not None:
        log.debug("TLS handshake failed: %s", exc)
    try:
        sock.close()
    except OSError:
        pass
