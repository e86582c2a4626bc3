"""systemd's readiness protocol (``sd_notify``), without a dependency.

When systemd starts a unit with ``Type=notify`` it sets ``NOTIFY_SOCKET`` to a unix
datagram socket (a path, or an abstract name written with a leading ``@``) and
waits for ``READY=1`` before it counts the service as started.  The master sends:

* ``READY=1`` (and a ``STATUS=`` line) once it listens and its workers are forked;
* ``RELOADING=1`` (with ``MONOTONIC_USEC=``) when a HUP re-reads the configuration,
  then ``READY=1`` again;
* ``STOPPING=1`` when it begins to stop.

Without ``NOTIFY_SOCKET`` every call is a no-op.  A failure to send is logged as a
warning and never stops the server.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

NOTIFY_ENV = "NOTIFY_SOCKET"


def notify_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The socket address from ``NOTIFY_SOCKET`` (``@name`` -> abstract
    ``\\0name``), or None when systemd asked for no notifications."""
    value = (os.environ if environ is None else environ).get(NOTIFY_ENV, "")
    if not value or value[0] not in "/@":
        return None
    return "\0" + value[1:] if value[0] == "@" else value


def sd_notify(*lines: str, log: Any = None, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``lines`` (``"READY=1"``, ``"STATUS=..."``) as one datagram to systemd;
    True when sent.  Never raises."""
    address = notify_address(environ)
    if address is None:
        return False
    message = "\n".join(lines).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError as e:
        if log is not None:
            log.warning("Cannot notify systemd at %s: %s", address.replace("\0", "@"),
                        e.strerror or e)
        return False
    return True


def ready(status: str, log: Any = None) -> bool:
    return sd_notify("READY=1", f"STATUS={status}", log=log)


def reloading(log: Any = None) -> bool:
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return sd_notify("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=Reloading",
                     log=log)


def stopping(log: Any = None) -> bool:
    return sd_notify("STOPPING=1", "STATUS=Stopping", log=log)
