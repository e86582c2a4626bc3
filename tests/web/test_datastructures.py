import copy
import io
import pickle

import pytest

from corral.web.http.datastructures import (
    Authorization,
    CallbackDict,
    CombinedMultiDict,
    EnvironHeaders,
    FileStorage,
    Headers,
    HeaderSet,
    ImmutableDict,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    MultiDict,
    ResponseCacheControl,
    TypeConversionDict,
)
from corral.web.http.exceptions import BadRequest, BadRequestKeyError
from corral.web.http.parsing import parse_accept_header


def test_multidict_basics():
    d = MultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d["a"] == "1"
    assert d.getlist("a") == ["1", "3"]
    assert d.getlist("missing") == []
    assert list(d.items()) == [("a", "1"), ("b", "2")]
    assert list(d.items(multi=True)) == [("a", "1"), ("a", "3"), ("b", "2")]
    assert d.to_dict() == {"a": "1", "b": "2"}
    assert d.to_dict(flat=False) == {"a": ["1", "3"], "b": ["2"]}
    d.add("b", "4")
    d["c"] = "5"
    d.setlist("d", ["x", "y"])
    assert d.getlist("b") == ["2", "4"]
    assert d.pop("a") == "1"
    assert "a" not in d
    assert d.setdefault("e", "z") == "z"
    assert len(d) == 4


def test_multidict_from_dict_with_lists_and_update():
    d = MultiDict({"a": ["1", "2"], "b": "3"})
    assert d.getlist("a") == ["1", "2"]
    d.update({"a": "9"})
    assert d.getlist("a") == ["1", "2", "9"]


def test_multidict_missing_key_is_bad_request_keyerror():
    d = MultiDict()
    with pytest.raises(KeyError) as exc:
        d["nope"]
    assert isinstance(exc.value, BadRequestKeyError)
    assert isinstance(exc.value, BadRequest)
    assert exc.value.code == 400


def test_get_with_type_conversion():
    d = MultiDict([("n", "42"), ("x", "abc")])
    assert d.get("n", type=int) == 42
    assert d.get("x", -1, type=int) == -1
    assert d.get("missing", "dflt") == "dflt"
    assert d.getlist("n", type=int) == [42]
    t = TypeConversionDict(a="1")
    assert t.get("a", type=int) == 1


def test_multidict_copy_pickle_equality():
    d = MultiDict([("a", "1"), ("a", "2")])
    assert copy.copy(d) == d
    assert copy.deepcopy(d).getlist("a") == ["1", "2"]
    assert pickle.loads(pickle.dumps(d)).getlist("a") == ["1", "2"]


def test_immutable_multidict():
    d = ImmutableMultiDict([("a", "1")])
    for op in (lambda: d.__setitem__("a", "2"), lambda: d.add("a", "2"), lambda: d.pop("a")):
        with pytest.raises(TypeError):
            op()
    assert isinstance(d.copy(), MultiDict)
    assert hash(d) == hash(ImmutableMultiDict([("a", "1")]))
    with pytest.raises(TypeError):
        ImmutableDict(a=1)["b"] = 2


def test_combined_multidict():
    c = CombinedMultiDict([MultiDict([("a", "1")]), MultiDict([("a", "2"), ("b", "3")])])
    assert c["a"] == "1"
    assert c.getlist("a") == ["1", "2"]
    assert c.get("b", type=int) == 3
    assert "b" in c and "z" not in c
    assert sorted(c) == ["a", "b"]
    assert c.to_dict() == {"a": "1", "b": "3"}
    with pytest.raises(TypeError):
        c["x"] = "y"
    with pytest.raises(BadRequestKeyError):
        c["z"]


def test_headers_case_insensitive_multi():
    h = Headers()
    h.add("Content-Type", "text/plain")
    h.add("X-Foo", "1")
    h.add("x-foo", "2")
    assert h["content-type"] == "text/plain"
    assert h.getlist("X-FOO") == ["1", "2"]
    assert h.get_all("x-foo") == ["1", "2"]
    assert "CONTENT-TYPE" in h
    h.set("X-Foo", "3")
    assert h.getlist("x-foo") == ["3"]
    assert h.to_wsgi_list() == [("Content-Type", "text/plain"), ("X-Foo", "3")]
    h.remove("x-foo")
    assert "x-foo" not in h
    assert h.get("x-count", 7, type=int) == 7
    h.setdefault("X-Bar", "b")
    h.setdefault("X-Bar", "c")
    assert h["x-bar"] == "b"
    with pytest.raises(KeyError):
        h["nope"]


def test_headers_extend_update_copy_params():
    h = Headers([("A", "1")])
    h.extend({"A": "2", "B": ["3", "4"]})
    assert h.getlist("a") == ["1", "2"]
    assert h.getlist("b") == ["3", "4"]
    h.update({"A": "9"})
    assert h.getlist("a") == ["9"]
    c = h.copy()
    c.add("Z", "z")
    assert "z" not in h
    h.add("Content-Disposition", "attachment", filename="a b.txt")
    assert h["content-disposition"] == 'attachment; filename="a b.txt"'
    with pytest.raises(ValueError):
        h.add("X", "bad\r\nvalue")


def test_environ_headers():
    env = {"HTTP_X_FOO": "bar", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "3", "PATH_INFO": "/"}
    h = EnvironHeaders(env)
    assert h["x-foo"] == "bar"
    assert h["Content-Type"] == "text/plain"
    assert "content-length" in h
    assert dict(h) == {"X-Foo": "bar", "Content-Type": "text/plain", "Content-Length": "3"}
    assert len(h) == 3
    with pytest.raises(TypeError):
        h["x"] = "y"
    with pytest.raises(KeyError):
        h["missing"]


def test_callback_dict():
    calls = []
    d = CallbackDict({"a": 1}, on_update=lambda x: calls.append(dict(x)))
    d["b"] = 2
    del d["a"]
    d.setdefault("c", 3)
    d.setdefault("c", 4)
    d.update(e=5)
    d.pop("missing", None)
    d.pop("e")
    assert len(calls) == 5
    assert d == {"b": 2, "c": 3}


def test_mime_accept():
    a = parse_accept_header("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", MIMEAccept)
    assert a["text/html"] == 1
    assert a["image/png"] == 0.8
    assert "application/json" in a
    assert a.accept_html
    assert a.best_match(["application/json", "text/html"]) == "text/html"
    assert a.best == "text/html"
    j = parse_accept_header("application/json", MIMEAccept)
    assert j.accept_json and not j.accept_html
    assert j.best_match(["text/html"]) is None
    empty = parse_accept_header(None, MIMEAccept)
    assert not empty.provided


def test_accept_matches_werkzeug():
    from werkzeug.datastructures import MIMEAccept as WMIMEAccept
    from werkzeug.http import parse_accept_header as wparse

    for header, offers in [
        ("text/*;q=0.5, text/html", ["text/plain", "text/html", "application/json"]),
        ("application/json;q=0.2, text/html;q=0.3", ["application/json", "text/html"]),
        ("*/*", ["text/plain", "application/json"]),
    ]:
        ours = parse_accept_header(header, MIMEAccept)
        theirs = wparse(header, WMIMEAccept)
        assert ours.best_match(offers) == theirs.best_match(offers)
        for offer in offers:
            assert ours[offer] == theirs[offer]


def test_language_accept():
    a = parse_accept_header("en-US,fr;q=0.5", LanguageAccept)
    assert a.best_match(["fr", "en-us"]) == "en-us"


def test_authorization():
    basic = Authorization.from_header("Basic dXNlcjpwYXNz")
    assert basic.type == "basic"
    assert (basic.username, basic.password) == ("user", "pass")
    assert basic.to_header() == "Basic dXNlcjpwYXNz"
    bearer = Authorization.from_header("Bearer abc.def")
    assert bearer.type == "bearer" and bearer.token == "abc.def"
    digest = Authorization.from_header('Digest username="u", realm="r"')
    assert digest.username == "u" and digest["realm"] == "r"
    assert Authorization.from_header("") is None
    assert Authorization.from_header("Basic !!!") is None


def test_file_storage(tmp_path):
    fs = FileStorage(io.BytesIO(b"data"), "a.txt", "f", content_type="text/plain; charset=utf-8")
    assert fs.filename == "a.txt" and fs.name == "f"
    assert fs.mimetype == "text/plain"
    assert fs.mimetype_params == {"charset": "utf-8"}
    assert bool(fs)
    target = tmp_path / "out.txt"
    fs.save(str(target))
    assert target.read_bytes() == b"data"
    fs.stream.seek(0)
    buf = io.BytesIO()
    fs.save(buf)
    assert buf.getvalue() == b"data"
    fs.stream.seek(0)
    assert fs.read() == b"data"
    fs.close()
    assert not FileStorage()


def test_header_set_and_cache_control():
    seen = []
    hs = HeaderSet(["Accept"], on_update=lambda s: seen.append(s.to_header()))
    hs.add("cookie")
    hs.add("Cookie")
    assert "COOKIE" in hs and seen == ["Accept, cookie"]
    cc = ResponseCacheControl(None, on_update=lambda c: seen.append(c.to_header()))
    cc.public = True
    cc.max_age = 60
    assert cc.to_header() == "public, max-age=60"
    assert cc.max_age == 60 and cc.public is True
    cc.no_cache = True
    assert "no-cache" in cc.to_header()


def test_headers_get_agrees_with_werkzeug():
    from werkzeug.datastructures import Headers as WHeaders

    pairs = [("Content-Type", "text/plain"), ("X-Count", "12"), ("x-count", "13"), ("X-Bad", "z")]
    ours, theirs = Headers(pairs), WHeaders(pairs)
    calls = [("content-type",), ("X-COUNT",), ("x-count", None, int), ("x-bad", -1, int),
             ("missing",), ("missing", "dflt"), ("missing", 5, int), ("", "e")]
    for args in calls:
        assert ours.get(*args) == theirs.get(*args), args

    class Aliased(Headers):
        """A subclass that reads names its own way: get() goes through it."""

        def __getitem__(self, key):
            return super().__getitem__({"type": "Content-Type"}.get(key, key))

    assert Aliased(pairs).get("type") == "text/plain"
    assert Aliased(pairs).get("absent", 0) == 0
