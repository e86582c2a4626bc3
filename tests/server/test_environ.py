"""environ per PEP 3333, built without sockets."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from corral.server.config import Settings
from corral.server.http import environ as wsgi_environ
from corral.server.http import strict
from corral.server.http.body import BufferedBody
from corral.server.http.cycle import ConnInfo
from corral.server.http.environ import EnvironBuilder
from corral.server.http.parser import Limits, RequestHead, RequestParser
from corral.server.http.response import FileWrapper

PEER = ("10.1.2.3", 40000)
LOCAL = ("127.0.0.1", 8000)


def build(raw: bytes, peer: Any = PEER, settings: Settings | None = None,
          scheme: str = "http") -> dict[str, Any]:
    events = RequestParser(Limits()).feed(raw)
    head = events[0]
    assert isinstance(head, RequestHead)
    body = BufferedBody(b"".join(e for e in events if isinstance(e, bytes)))
    return wsgi_environ.build_environ(EnvironBuilder(settings or Settings()), head, body,
                                     ConnInfo(peer, LOCAL, scheme))


def test_required_keys() -> None:
    env = build(b"POST /p/a%20th?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
                b"Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody")
    assert env["REQUEST_METHOD"] == "POST"
    assert env["SCRIPT_NAME"] == "" and env["PATH_INFO"] == "/p/a th"
    assert env["QUERY_STRING"] == "x=1" and env["RAW_URI"] == "/p/a%20th?x=1"
    assert env["CONTENT_TYPE"] == "text/plain" and env["CONTENT_LENGTH"] == "4"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("example.com", "8080")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1" and env["HTTP_HOST"] == "example.com:8080"
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("10.1.2.3", "40000")
    assert env["wsgi.version"] == (1, 0) and env["wsgi.url_scheme"] == "http"
    assert env["wsgi.input"].read() == b"body" and env["wsgi.input_terminated"] is True
    assert hasattr(env["wsgi.errors"], "write") and env["wsgi.file_wrapper"] is FileWrapper
    assert env["wsgi.multithread"] is False and env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    for key, value in env.items():
        if key.isupper():
            assert isinstance(value, str), key


def test_repeated_headers_joined_and_underscores_dropped() -> None:
    env = build(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX-Multi: 1\r\nx-multi: 2\r\n"
                b"X_Forwarded_For: 6.6.6.6\r\nX-Auth_User: admin\r\n\r\n")
    assert env["HTTP_X_MULTI"] == "1,2" and env["HTTP_ACCEPT"] == "a"
    assert "HTTP_X_FORWARDED_FOR" not in env and "HTTP_X_AUTH_USER" not in env


def test_path_info_is_decoded_as_latin1() -> None:
    env = build(b"GET /caf%C3%A9/%2F HTTP/1.1\r\nHost: h\r\n\r\n")
    assert env["PATH_INFO"] == "/caf\xc3\xa9//"
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café//"


def test_script_name_from_root_path() -> None:
    env = build(b"GET /app/sub HTTP/1.1\r\nHost: h\r\n\r\n", settings=Settings(root_path="/app"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/sub")
    env = build(b"GET /application HTTP/1.1\r\nHost: h\r\n\r\n", settings=Settings(root_path="/app"))
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/application")


def test_script_name_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPT_NAME", "/mounted")
    env = build(b"GET /mounted/x HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/mounted", "/x")


FWD = (b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n"
       b"X-Forwarded-Proto: https\r\n\r\n")


def test_forwarded_headers_trusted_from_allowed_peer() -> None:
    env = build(FWD, peer=("127.0.0.1", 5000))
    assert env["wsgi.url_scheme"] == "https" and env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["SERVER_PORT"] == "443"


def test_forwarded_headers_ignored_from_other_peers() -> None:
    env = build(FWD, peer=("198.51.100.7", 5000))
    assert env["wsgi.url_scheme"] == "http" and env["REMOTE_ADDR"] == "198.51.100.7"
    env = build(FWD, peer=("198.51.100.7", 5000), settings=Settings(forwarded_allow_ips="*"))
    assert env["wsgi.url_scheme"] == "https" and env["REMOTE_ADDR"] == "203.0.113.9"


def test_tls_scheme_and_server_address_without_host() -> None:
    env = build(b"GET / HTTP/1.0\r\n\r\n", scheme="https")
    assert env["wsgi.url_scheme"] == "https"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_ipv6_host_and_unix_peer() -> None:
    env = build(b"GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n", peer="")
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("[::1]", "9000")
    assert env["REMOTE_ADDR"] == "" and "REMOTE_PORT" not in env


def test_multithread_follows_settings() -> None:
    events = RequestParser(Limits()).feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    head = events[0]
    assert isinstance(head, RequestHead)
    builder = EnvironBuilder(Settings(threads=4, workers=3), multithread=True)
    env = wsgi_environ.build_environ(builder, head, BufferedBody(), ConnInfo(PEER, LOCAL))
    assert env["wsgi.multithread"] is True and env["wsgi.multiprocess"] is True


def test_the_default_forwarding_fields_are_flagged_before_any_builder_is_made() -> None:
    """A head read before the first environ builder exists (as in these tests'
    ``build``) says whether it has forwarding fields of the default settings."""
    assert EnvironBuilder(Settings()).forwarding <= strict.COMMON_FORWARDING


_FRESH = itertools.count(1)  # a forwarding name new to the process, per test case
_CASES = {"as-written": str, "lower": str.lower, "upper": str.upper}


@pytest.mark.parametrize(("configured_as", "sent_as"),
                         [("as-written", "as-written"), ("as-written", "lower"),
                          ("lower", "upper")])
def test_a_configured_forwarding_field_is_read_whatever_its_case(configured_as: str,
                                                                  sent_as: str) -> None:
    """A name read as a plain field before a builder that reads it was made is
    judged again once it is: its heads say they have a forwarding field.  Each
    case has a name of its own, new to the process when the case begins."""
    name = f"X-Scheme-Seen-{next(_FRESH)}"
    configured = _CASES[configured_as](name)
    sent = _CASES[sent_as](name).encode()
    assert "HTTP_" + name.upper().replace("-", "_") not in strict._FORWARDING
    raw = b"GET / HTTP/1.1\r\nHost: h\r\n" + sent + b": https\r\n\r\n"
    before = RequestParser(Limits()).feed(raw)[0]
    assert isinstance(before, RequestHead) and not before.forwarded
    settings = Settings(secure_scheme_headers={configured: "https"}, forwarded_allow_ips="*")
    builder = EnvironBuilder(settings)
    head = RequestParser(Limits()).feed(raw)[0]
    assert isinstance(head, RequestHead) and head.forwarded
    env = wsgi_environ.build_environ(builder, head, BufferedBody(b""), ConnInfo(PEER, LOCAL))
    assert env["wsgi.url_scheme"] == "https" and env["SERVER_PORT"] == "443"
    plain = RequestParser(Limits()).feed(b"GET / HTTP/1.1\r\nHost: h\r\nX-Other: https\r\n\r\n")[0]
    assert isinstance(plain, RequestHead) and not plain.forwarded


def test_server_name_follows_each_requests_host_on_one_connection() -> None:
    """The split of the Host header is kept with the connection; a request with
    another Host, or none, on the same connection gets its own, and so does one
    whose scheme a trusted proxy forwards."""
    builder = EnvironBuilder(Settings(forwarded_allow_ips="10.1.2.3"))
    conn = ConnInfo(PEER, LOCAL, "http")

    def server(fields: bytes) -> tuple[str, str, str]:
        version = b"1.1" if fields else b"1.0"  # (no Host header: HTTP/1.0)
        head = RequestParser(Limits()).feed(b"GET / HTTP/" + version + b"\r\n" + fields
                                            + b"\r\n")[0]
        assert isinstance(head, RequestHead)
        env = wsgi_environ.build_environ(builder, head, BufferedBody(b""), conn)
        return env["SERVER_NAME"], env["SERVER_PORT"], env["wsgi.url_scheme"]

    assert server(b"Host: a.example\r\n") == ("a.example", "80", "http")
    assert server(b"Host: a.example\r\n") == ("a.example", "80", "http")
    assert server(b"Host: b.example:8080\r\n") == ("b.example", "8080", "http")
    assert server(b"") == ("127.0.0.1", "8000", "http")
    assert server(b"Host: \r\n") == ("127.0.0.1", "8000", "http")
    assert server(b"Host: a.example\r\nX-Forwarded-Proto: https\r\n") == (
        "a.example", "443", "https")
    assert server(b"Host: a.example\r\n") == ("a.example", "80", "http")
    assert server(b"Host: [::1]\r\nX-Forwarded-Proto: https\r\n") == ("[::1]", "443", "https")
    conn.environ_base = None  # as a PROXY header does: the peer changed
    assert server(b"") == ("127.0.0.1", "8000", "http")
    assert server(b"Host: a.example\r\n") == ("a.example", "80", "http")
