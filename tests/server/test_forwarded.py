"""Forwarding headers and who may send them, over real sockets for every worker
class: ``--forwarded-allow-ips`` and ``--proxy-allow-from`` take networks (CIDR,
IPv4 and IPv6) and ``*``; ``secure_scheme_headers`` are read as Gunicorn reads
them (only from trusted peers; disagreeing ones are a 400); the shipped nginx
configuration leaves no forwarding header to the client."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.server.config import Settings
from corral.server.http.proxy import PeerTrust
from tests.support import APPS, ROOT, WORKER_CLASSES, ServerProcess, parse_response, recv_all

pytestmark = pytest.mark.timeout(120)

TRUSTED_PEER = "127.0.0.2"  # inside 127.0.0.0/8, not one of the default addresses


@pytest.fixture(scope="module", params=[w for w, _ in WORKER_CLASSES])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", *dict(WORKER_CLASSES)[request.param],
            "--forwarded-allow-ips", "10.0.0.0/8, 127.0.0.0/8, fd00::/8"]
    with ServerProcess(args) as proc:
        yield proc


def ask(proc: ServerProcess, extra: str, source: str = TRUSTED_PEER,
        proxy_header: bytes = b"") -> tuple[int, Any]:
    with socket.create_connection((proc.host, proc.port), timeout=10,
                                  source_address=(source, 0)) as s:
        s.sendall(proxy_header + f"GET /environ HTTP/1.1\r\nHost: site.example\r\n{extra}"
                  "Connection: close\r\n\r\n".encode())
        status, _, body, _ = parse_response(recv_all(s))
    return status, json.loads(body) if status == 200 else body


def test_a_network_is_trusted(server: ServerProcess) -> None:
    status, env = ask(server, "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n")
    assert status == 200
    assert env["wsgi.url_scheme"] == "https" and env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["SERVER_PORT"] == "443"


@pytest.mark.parametrize("fields, scheme", [
    ("X-Forwarded-Ssl: on\r\n", "https"),
    ("X-Forwarded-Protocol: ssl\r\n", "https"),
    ("X-Forwarded-Proto: http\r\n", "http"),
    ("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n", "https"),
    ("X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: off\r\n", "http"),
    ("", "http"),
])
def test_secure_scheme_headers_that_agree(server: ServerProcess, fields: str,
                                          scheme: str) -> None:
    status, env = ask(server, fields)
    assert status == 200 and env["wsgi.url_scheme"] == scheme


@pytest.mark.parametrize("fields", [
    "X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n",
    "X-Forwarded-Proto: https\r\nX-Forwarded-Protocol: plain\r\n",
    "X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n",
])
def test_contradictory_scheme_headers_are_refused(server: ServerProcess, fields: str) -> None:
    status, body = ask(server, fields)
    assert status == 400, body


def test_untrusted_peers_cannot_set_the_scheme() -> None:
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", "--forwarded-allow-ips",
            "10.0.0.0/8"]
    with ServerProcess(args) as proc:
        status, env = ask(proc, "X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n"
                                "X-Forwarded-For: 203.0.113.9\r\n")
        assert status == 200 and env["wsgi.url_scheme"] == "http"
        assert env["REMOTE_ADDR"] == TRUSTED_PEER


def test_proxy_allow_from_takes_a_network() -> None:
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", "-k", "gthread",
            "--proxy-protocol", "--proxy-allow-from", "127.0.0.0/8"]
    with ServerProcess(args) as proc:
        header = b"PROXY TCP4 198.51.100.4 127.0.0.1 4444 80\r\n"
        status, env = ask(proc, "", proxy_header=header)
        assert status == 200 and env["REMOTE_ADDR"] == "198.51.100.4"


@pytest.mark.parametrize("peer, entries, trusted", [
    (("127.9.9.9", 1), ["127.0.0.0/8"], True),
    (("128.0.0.1", 1), ["127.0.0.0/8"], False),
    (("fd12::1", 1, 0, 0), ["fd00::/8"], True),
    (("fe80::1", 1, 0, 0), ["fd00::/8"], False),
    (("::ffff:10.1.2.3", 1, 0, 0), ["10.0.0.0/8"], True),  # a dual-stack listener
    (("203.0.113.1", 1), ["*"], True),
    (("203.0.113.1", 1), "203.0.113.1, ::1", True),
    ("/run/app.sock", ["10.0.0.1"], True),
])
def test_peer_trust(peer: Any, entries: Any, trusted: bool) -> None:
    assert PeerTrust(entries)(peer) is trusted


@pytest.mark.parametrize("flag", ["--forwarded-allow-ips", "--proxy-allow-from"])
def test_a_bad_entry_is_one_line_and_a_failed_start(flag: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "corral", "output_app:app", flag,
                           "10.0.0.0/8,nonsense", "--check-config"], cwd=APPS,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": f"{APPS}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nonsense" in lines[0] and flag in lines[0], proc.stderr


def test_nginx_config_sets_or_clears_every_forwarding_header() -> None:
    conf = Path(ROOT / "deploy" / "nginx.conf").read_text()
    handled = {m.group(1).lower() for m in re.finditer(r"proxy_set_header\s+(\S+)\s", conf)}
    wanted = {name.lower() for name in Settings().secure_scheme_headers}
    wanted |= {"x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix",
               "forwarded", "x-real-ip", "host"}
    assert wanted <= handled, wanted - handled
    assert re.search(r'proxy_set_header\s+X-Forwarded-Ssl\s+"";', conf)


def test_secure_scheme_headers_from_a_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "corral.conf.py"
    conf.write_text('secure_scheme_headers = {"X-Scheme": "https"}\n'
                    'forwarded_allow_ips = "127.0.0.0/8"\n')
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", "-c", str(conf)]
    with ServerProcess(args) as proc:
        assert ask(proc, "X-Scheme: https\r\n")[1]["wsgi.url_scheme"] == "https"
        assert ask(proc, "X-Scheme: http\r\n")[1]["wsgi.url_scheme"] == "http"
        # the defaults no longer apply: only the configured field says the scheme
        assert ask(proc, "X-Forwarded-Proto: https\r\n")[1]["wsgi.url_scheme"] == "http"
        assert ask(proc, "X-Scheme: https\r\nX-Forwarded-Ssl: off\r\n")[0] == 200


SCHEME_CASES = [
    "X-Forwarded-Proto: https\r\n", "X-Forwarded-Proto: http\r\n", "X-Forwarded-Ssl: on\r\n",
    "X-Forwarded-Protocol: ssl\r\n", "X-Forwarded-Proto: http\r\nX-Forwarded-Ssl: on\r\n",
    "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n",
    "X-Forwarded-Proto: https\r\nX-Forwarded-Protocol: plain\r\n", "",
]


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "10.0.0.0/8"])
def test_scheme_headers_as_gunicorn(allow: str) -> None:
    pytest.importorskip("gunicorn")
    args = ["output_app:app", "-b", "127.0.0.1:0", "-w", "1", "--forwarded-allow-ips", allow]
    with ServerProcess(args) as ours, \
            ServerProcess([*args, "-k", "sync"], command=[sys.executable, "-m", "gunicorn"]) as theirs:
        for fields in SCHEME_CASES:
            got, want = ask(ours, fields), ask(theirs, fields)
            assert got[0] == want[0], (fields, got, want)
            if got[0] == 200:
                assert got[1]["wsgi.url_scheme"] == want[1]["wsgi.url_scheme"], fields
