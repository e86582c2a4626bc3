"""A minimal blocking worker for arbiter tests: answers each connection with the
app's response, without the shared request cycle (HTTP/1.0 style, one request per
connection)."""

from __future__ import annotations

import select
import socket
from typing import Any

from corral.server.workers.base import Worker


class TinyWorker(Worker):
    def make_cycle(self) -> Any:
        return None

    def run(self) -> None:
        socks = [listener.sock for listener in self.listeners]
        while self.alive:
            self.notify()
            try:
                ready = select.select(socks, [], [], 0.5)[0]
            except InterruptedError:
                continue
            for lsock in ready:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    continue
                with conn:
                    self.handle(conn)
                self.request_done()
                if not self.alive:
                    break

    def handle(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = line.split(" ", 2)
        path, _, query = target.partition("?")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
        status_headers: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_headers[:] = [status, headers]
            return conn.sendall

        from corral.server.http.errors import RequestTimeout

        try:
            body = b"".join(self.wsgi(environ, start_response))
        except RequestTimeout:
            status_headers[:] = ["503 Service Unavailable", []]
            body = b"timeout\n"
        head = f"HTTP/1.0 {status_headers[0]}\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode("latin-1") + body)


class BrokenWorker(TinyWorker):
    def make_cycle(self) -> Any:
        raise RuntimeError("a worker class that cannot boot")
