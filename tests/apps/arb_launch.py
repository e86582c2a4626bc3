"""Start corral with an already-listening socket on fd 3, like a supervisor would.

    python arb_launch.py fd|systemd CORRAL-ARGS...

``fd``: the caller passes ``-b fd://3`` itself.  ``systemd``: LISTEN_FDS=1 and
LISTEN_PID=<this pid> are set (exec keeps the pid).  The port is printed as
``Listening socket port: N`` before exec.
"""

from __future__ import annotations

import os
import socket
import sys

mode, args = sys.argv[1], sys.argv[2:]
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(64)
print(f"Listening socket port: {sock.getsockname()[1]}", flush=True)
if sock.fileno() != 3:
    os.dup2(sock.fileno(), 3)
os.set_inheritable(3, True)
if mode == "systemd":
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, "-m", "corral", *args])
