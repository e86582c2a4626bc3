"""Listening sockets: created by the arbiter before forking, shared by every worker.

Bind addresses understood by :func:`create_listeners`:

* ``HOST:PORT``, ``[IPV6]:PORT``, ``HOST`` alone (port 8000);
* ``unix:/path`` (a stale socket file is replaced; a live server on it is an error;
  the file is given to ``--user``/``--group`` and its mode follows ``--umask``);
* ``fd://N`` (an already-listening socket inherited from the parent process);
* systemd socket activation: when ``LISTEN_PID`` is this process and
  ``LISTEN_FDS`` is set, the descriptors 3 .. 3+N-1 are used instead of ``bind``;
* a master started by another one re-executing itself (SIGUSR2) takes the
  descriptors listed in ``CORRAL_FDS``.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.server.tls import TLSConfigError, make_ssl_context

if TYPE_CHECKING:
    from corral.server.config import Settings

DEFAULT_PORT = 8000
SD_LISTEN_FDS_START = 3
INHERIT_ENV = "CORRAL_FDS"  # listening fds passed to a re-executed master (SIGUSR2)


class ListenerError(Exception):
    """A listener cannot be created (one-line message naming the address)."""


@dataclass
class Listener:
    """One listening socket and how to print it."""

    sock: socket.socket
    url: str
    family: int
    ssl_context: ssl.SSLContext | None = None
    unix_path: str | None = None  # set when this process created the socket file

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self, unlink: bool = True) -> None:
        """Close the socket; remove the unix socket file this process created."""
        try:
            self.sock.close()
        except OSError:
            pass
        if unlink and self.unix_path:
            try:
                os.unlink(self.unix_path)
            except OSError:
                pass

    def __str__(self) -> str:
        return self.url


def parse_address(bind: str) -> tuple[str, int] | str:
    """``"HOST:PORT"`` -> (host, port); ``"unix:/p"`` -> "/p"; ``"fd://N"`` kept as is."""
    if bind.startswith("unix:"):
        return bind[5:]
    if bind.startswith("fd://"):
        return bind
    if bind.startswith("["):
        host, sep, rest = bind[1:].partition("]")
        if not sep:
            raise ListenerError(f"invalid bind address {bind!r}")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif bind.count(":") == 1:
        host, _, port_text = bind.partition(":")
    elif ":" in bind:  # bare IPv6 address without brackets
        host, port_text = bind, ""
    else:
        host, port_text = bind, ""
    if not port_text:
        return host or "0.0.0.0", DEFAULT_PORT
    try:
        port = int(port_text)
    except ValueError:
        raise ListenerError(f"invalid port in bind address {bind!r}") from None
    if not 0 <= port <= 65535:
        raise ListenerError(f"invalid port in bind address {bind!r}")
    return host or "0.0.0.0", port


def format_url(sock: socket.socket, ssl_context: ssl.SSLContext | None = None) -> str:
    """Printable address of a bound socket (real port when bound to 0)."""
    if sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}"
    scheme = "https" if ssl_context is not None else "http"
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _prepare(sock: socket.socket) -> None:
    sock.setblocking(False)
    sock.set_inheritable(True)


def _bind_inet(host: str, port: int, settings: Settings) -> socket.socket:
    try:
        infos = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        raise ListenerError(f"cannot resolve {host!r}: {e}") from None
    family, _, proto, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if settings.reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and host in ("::", ""):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(addr)
        sock.listen(settings.backlog)
    except OSError as e:
        sock.close()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise ListenerError(f"cannot listen at {shown}: {e.strerror or e}") from None
    return sock


def _remove_stale_unix_socket(path: str) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ListenerError(f"cannot listen at unix:{path}: file exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody answers: a leftover from a dead server
        return
    finally:
        probe.close()
    raise ListenerError(f"cannot listen at unix:{path}: another server is listening on it")


def _bind_unix(path: str, settings: Settings) -> socket.socket:
    _remove_stale_unix_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        umask = settings.umask
        os.chmod(path, 0o777 & ~umask)
        _hand_over(path, settings)
        sock.listen(settings.backlog)
    except OSError as e:
        sock.close()
        raise ListenerError(f"cannot listen at unix:{path}: {e.strerror or e}") from None
    return sock


def _hand_over(path: str, settings: Settings) -> None:
    """Give the socket file to the workers' ``--user``/``--group`` (when they run as
    someone else), so that it can be managed like the rest of their files."""
    uid, gid = switched_owner(settings)
    if (uid, gid) != (-1, -1):
        os.chown(path, uid, gid)


def switched_owner(settings: Settings) -> tuple[int, int]:
    """The ``--user`` and ``--group`` ids the workers switch to, each -1 where it is
    this process's own (for :func:`os.chown`: that part stays as it is)."""
    uid, gid = settings.user, settings.group
    return (-1 if uid == os.geteuid() else uid, -1 if gid == os.getegid() else gid)


def _from_fd(fd: int) -> socket.socket:
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise ListenerError(f"fd://{fd} is not a usable socket: {e.strerror or e}") from None
    if sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ListenerError(f"fd://{fd} is not a stream socket")
    return sock


def systemd_fds(env: dict[str, str] | os._Environ[str] | None = None) -> list[int]:
    """Descriptors passed by systemd socket activation, unsetting its variables."""
    env = os.environ if env is None else env
    try:
        pid = int(env.get("LISTEN_PID", ""))
        count = int(env.get("LISTEN_FDS", ""))
    except ValueError:
        return []
    if pid != os.getpid() or count <= 0:
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(name, None)
    return list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))


def inherited_fds(env: dict[str, str] | os._Environ[str] | None = None) -> list[int]:
    """Descriptors handed over by a master re-executing itself (SIGUSR2)."""
    env = os.environ if env is None else env
    value = env.pop(INHERIT_ENV, "")
    try:
        return [int(fd) for fd in value.split(",") if fd.strip()]
    except ValueError:
        return []


def _listener(sock: socket.socket, ctx: ssl.SSLContext | None, unix_path: str | None) -> Listener:
    _prepare(sock)
    url = format_url(sock, ctx)
    return Listener(sock=sock, url=url, family=sock.family, ssl_context=ctx, unix_path=unix_path)


def create_listeners(settings: Settings, log: Any) -> list[Listener]:
    """Bind every address of ``settings.bind`` (or take systemd's sockets)."""
    try:
        ctx = make_ssl_context(settings)
    except TLSConfigError as e:
        raise ListenerError(str(e)) from None
    except (OSError, ssl.SSLError) as e:
        raise ListenerError(f"cannot load TLS certificate: {e}") from None
    listeners: list[Listener] = []
    try:
        fds = inherited_fds()
        if fds:
            log.debug("using %d socket(s) from the previous master", len(fds))
            for fd in fds:
                sock = _from_fd(fd)
                path = sock.getsockname() if sock.family == socket.AF_UNIX else None
                listeners.append(_listener(sock, ctx, path or None))
            return listeners
        fds = systemd_fds()
        if fds:
            log.debug("using %d socket(s) from systemd socket activation", len(fds))
            for fd in fds:
                listeners.append(_listener(_from_fd(fd), ctx, None))
            return listeners
        for bind in settings.bind:
            address = parse_address(bind)
            if isinstance(address, tuple):
                listeners.append(_listener(_bind_inet(address[0], address[1], settings), ctx, None))
            elif address.startswith("fd://"):
                try:
                    fd = int(address[5:])
                except ValueError:
                    raise ListenerError(f"invalid bind address {bind!r}") from None
                listeners.append(_listener(_from_fd(fd), ctx, None))
            else:
                listeners.append(_listener(_bind_unix(address, settings), ctx, address))
    except BaseException:
        close_listeners(listeners)
        raise
    return listeners


def close_listeners(listeners: list[Listener], unlink: bool = True) -> None:
    for listener in listeners:
        listener.close(unlink)

