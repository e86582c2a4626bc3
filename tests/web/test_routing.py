import uuid

import pytest
from werkzeug import exceptions as wexc
from werkzeug import routing as wr

from corral.web import routing as r
from corral.web.http.exceptions import MethodNotAllowed, NotFound

RULES = [
    ("/", "index", None, None),
    ("/about", "about", None, None),
    ("/user/<int:uid>", "user_id", None, None),
    ("/user/<name>", "user_name", None, None),
    ("/user/me", "user_me", None, None),
    ("/post/<int:year>/<slug>", "post", None, None),
    ("/files/<path:filename>", "files", None, None),
    ("/files/<path:filename>/edit", "files_edit", None, None),
    ("/dir/", "dir", None, None),
    ("/dir/<sub>/", "subdir", None, None),
    ("/items", "items_get", ["GET"], None),
    ("/items", "items_post", ["POST"], None),
    ("/f/<float:x>", "float", None, None),
    ("/s/<string(length=2):code>", "code2", None, None),
    ("/s/<string(minlength=3, maxlength=4):code>", "code34", None, None),
    ("/n/<int(min=1, max=10):n>", "bounded", None, None),
    ("/n/<int(signed=True):n>", "signed", None, None),
    ("/u/<uuid:id>", "uuid", None, None),
    ("/lang/<any(en, fr):lang>", "lang", None, None),
    ("/<page>", "page", None, None),
    ("/<a>/<b>", "two", None, None),
    ("/x/<a>.<ext>", "dotted", None, None),
    ("/blog/", "blog", None, {"page": 1}),
    ("/blog/page/<int:page>", "blog", None, None),
]

PATHS = [
    "/", "/about", "/about/", "/user/42", "/user/bob", "/user/me", "/post/2024/hello",
    "/files/a/b/c.txt", "/files/a/b/edit", "/dir", "/dir/", "/dir/x", "/dir/x/", "/items",
    "/f/1.5", "/f/1", "/s/ab", "/s/abc", "/s/abcde", "/n/5", "/n/50", "/n/-3", "/n/0",
    "/u/" + str(uuid.UUID(int=5)), "/u/nope", "/lang/en", "/lang/de", "/something",
    "/a/b", "/a/b/c", "/x/file.txt", "/blog/page/1", "/blog/page/2", "/blog", "//about",
    "/user//42", "/nothing/here/at/all",
]


TRAILING_PATH_RULES = [
    ("/", "index", None, None),
    ("/<path:rest>", "catch_all", None, None),
    ("/static/<path:filename>", "static", None, None),
    ("/tree/<path:p>/", "tree_dir", None, None),
    ("/two/<path:a>/<path:b>", "two_paths", None, None),
    ("/mid/<path:a>/edit", "mid", None, None),
    ("/mid/<path:a>/edit/<path:b>", "mid_rest", None, None),
    ("/u/<name>/<path:rest>", "user_rest", None, None),
    ("/api/<int:v>/<path:rest>", "api", ["GET"], None),
]
TRAILING_PATHS = [
    "/", "/a", "/a/", "/a/b/c", "/static/css/site.css", "/static/", "/static/a/",
    "/tree/x", "/tree/x/", "/tree/x/y/", "/two/a/b", "/two/a/b/c/d", "/two/a",
    "/mid/x/edit", "/mid/x/y/edit", "/mid/x/edit/y", "/mid/a/edit/b/edit/c",
    "/u/bob/x", "/u/bob/x/y/", "/u/bob/", "/api/2/x/y", "/api/x/y", "/products/1/reviews",
    "/search", "/a//b", "/static//x",
]

# a path converter that ends its rule is matched greedily (the same match, found
# faster); where more of the rule follows it, it stays lazy
MATCH_CASES = [("basic", p) for p in PATHS] + [("trailing path", p) for p in TRAILING_PATHS]


def _build(mod, rules):
    m = mod.Map()
    for rule, endpoint, methods, defaults in rules:
        m.add(mod.Rule(rule, endpoint=endpoint, methods=methods, defaults=defaults))
    return m


def _outcome(adapter, path, method, redirect_cls):
    try:
        endpoint, args = adapter.match(path, method)
        return ("ok", endpoint, args)
    except redirect_cls as e:
        return ("redirect", e.new_url)
    except (MethodNotAllowed, wexc.MethodNotAllowed) as e:
        return ("405", sorted(e.valid_methods))
    except (NotFound, wexc.NotFound):
        return ("404",)


def _adapter_pair(rules):
    """The same rules in our map and in Werkzeug's, each bound to one host."""
    return (_build(r, rules).bind("example.com", "/"), _build(wr, rules).bind("example.com", "/"))


@pytest.fixture(scope="module")
def adapters():
    return _adapter_pair(RULES)


@pytest.fixture(scope="module")
def adapter_pairs(adapters):
    return {"basic": adapters, "trailing path": _adapter_pair(TRAILING_PATH_RULES)}


@pytest.mark.parametrize(("rules", "path"), MATCH_CASES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_match_agrees_with_werkzeug(adapter_pairs, rules, path, method):
    ours, theirs = adapter_pairs[rules]
    assert _outcome(ours, path, method, r.RequestRedirect) == _outcome(
        theirs, path, method, wr.RequestRedirect
    )


BUILDS = [
    ("index", {}),
    ("user_id", {"uid": 7}),
    ("user_name", {"name": "a b/é"}),
    ("post", {"year": 2024, "slug": "hi", "q": "x y", "tag": ["a", "b"]}),
    ("files", {"filename": "a/b c.txt"}),
    ("blog", {}),
    ("blog", {"page": 1}),
    ("blog", {"page": 3}),
    ("lang", {"lang": "fr"}),
    ("code2", {"code": "ab", "none": None}),
    ("uuid", {"id": uuid.UUID(int=9)}),
]


@pytest.mark.parametrize(("endpoint", "values"), BUILDS)
@pytest.mark.parametrize("external", [False, True])
def test_build_agrees_with_werkzeug(adapters, endpoint, values, external):
    ours, theirs = adapters
    assert ours.build(endpoint, values, force_external=external) == theirs.build(
        endpoint, values, force_external=external
    )


def test_build_errors(adapters):
    ours, _ = adapters
    with pytest.raises(r.BuildError):
        ours.build("user_id", {})
    with pytest.raises(r.BuildError):
        ours.build("missing")
    with pytest.raises(r.BuildError):
        ours.build("lang", {"lang": "de"})
    with pytest.raises(LookupError):
        ours.build("missing")
    assert ours.build("user_id", {"uid": 1}, force_external=True, url_scheme="https") == (
        "https://example.com/user/1"
    )
    assert ours.build("user_id", {"uid": 1}, url_scheme="https") == "/user/1"


def test_build_multidict_and_append_unknown(adapters):
    from corral.web.http.datastructures import MultiDict

    ours, _ = adapters
    values = MultiDict([("uid", 1), ("x", "1"), ("x", "2")])
    assert ours.build("user_id", values) == "/user/1?x=1&x=2"
    assert ours.build("user_id", {"uid": 1, "x": 1}, append_unknown=False) == "/user/1"


def test_methods_head_and_allowed():
    m = r.Map([r.Rule("/a", endpoint="a", methods=["GET"]), r.Rule("/a", endpoint="b", methods=["PUT"])])
    rule = next(m.iter_rules("a"))
    assert rule.methods == {"GET", "HEAD"}
    adapter = m.bind("localhost")
    assert adapter.match("/a", "HEAD") == ("a", {})
    assert adapter.match("/a", "PUT") == ("b", {})
    assert adapter.allowed_methods("/a") == ["GET", "HEAD", "PUT"]
    with pytest.raises(MethodNotAllowed) as info:
        adapter.match("/a", "DELETE")
    assert info.value.valid_methods == ["GET", "HEAD", "PUT"]
    rule2, args = adapter.match("/a", "GET", return_rule=True)
    assert rule2 is rule and args == {}


def test_strict_slashes_off_and_map_options():
    m = r.Map([r.Rule("/a/", endpoint="a", strict_slashes=False), r.Rule("/b", endpoint="b", strict_slashes=False)])
    adapter = m.bind("localhost")
    assert adapter.match("/a") == ("a", {})
    assert adapter.match("/b/") == ("b", {})
    m2 = r.Map([r.Rule("/a/", endpoint="a")], strict_slashes=False)
    assert m2.bind("localhost").match("/a") == ("a", {})


def test_redirect_to():
    m = r.Map([
        r.Rule("/old/<int:id>", redirect_to="new/<id>"),
        r.Rule("/new/<int:id>", endpoint="new"),
        r.Rule("/cb", redirect_to=lambda adapter, **kw: "/new/1"),
    ])
    adapter = m.bind("example.com", "/")
    with pytest.raises(r.RequestRedirect) as info:
        adapter.match("/old/5")
    assert info.value.new_url == "http://example.com/new/5"
    assert info.value.code == 308
    resp = info.value.get_response()
    assert resp.status_code == 308
    assert resp.headers["Location"] == "http://example.com/new/5"
    with pytest.raises(r.RequestRedirect):
        adapter.match("/cb")


def test_custom_converter_and_registration():
    class ListConverter(r.BaseConverter):
        def to_python(self, value):
            return value.split(",")

        def to_url(self, value):
            return ",".join(super(ListConverter, self).to_url(v) for v in value)

    m = r.Map(converters={"list": ListConverter})
    m.add(r.Rule("/l/<list:items>", endpoint="l"))
    adapter = m.bind("localhost")
    assert adapter.match("/l/a,b") == ("l", {"items": ["a", "b"]})
    assert adapter.build("l", {"items": ["x", "y"]}) == "/l/x,y"
    with pytest.raises(LookupError):
        r.Map([r.Rule("/<nope:x>", endpoint="x")])


def test_validation_error_is_a_miss_like_werkzeug():
    class EvenConverter(r.BaseConverter):
        regex = r"\d+"

        def to_python(self, value):
            if int(value) % 2:
                raise r.ValidationError()
            return int(value)

    m = r.Map([r.Rule("/n/<even:n>", endpoint="even"), r.Rule("/n/<n>", endpoint="any")],
              converters={"even": EvenConverter})
    adapter = m.bind("localhost")
    assert adapter.match("/n/4") == ("even", {"n": 4})
    # the best-ranked rule refused the value: no fallback to later rules
    with pytest.raises(NotFound):
        adapter.match("/n/3")


def test_subdomain_and_host_matching():
    m = r.Map([r.Rule("/", endpoint="root"), r.Rule("/", subdomain="<user>", endpoint="user")])
    adapter = m.bind("example.com", subdomain="alice")
    assert adapter.match("/") == ("user", {"user": "alice"})
    assert m.bind("example.com").match("/") == ("root", {})
    assert m.bind("example.com").build("user", {"user": "bob"}) == "http://bob.example.com/"
    hm = r.Map([r.Rule("/", host="<name>.example.org", endpoint="h")], host_matching=True)
    assert hm.bind("abc.example.org").match("/") == ("h", {"name": "abc"})


def test_bind_to_environ():
    m = r.Map([r.Rule("/é/<x>", endpoint="e")])
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/é/1".encode().decode("latin1"),
        "SCRIPT_NAME": "/app", "HTTP_HOST": "localhost:80", "wsgi.url_scheme": "http",
        "QUERY_STRING": "a=1",
    }
    adapter = m.bind_to_environ(environ)
    assert adapter.server_name == "localhost"
    assert adapter.match() == ("e", {"x": "1"})
    assert adapter.build("e", {"x": 2}) == "/app/%C3%A9/2"
    sub = m.bind_to_environ(dict(environ, HTTP_HOST="api.example.com"), server_name="example.com")
    assert sub.subdomain == "api"


def test_rule_empty_copy_and_arguments():
    rule = r.Rule("/x/<int:a>", endpoint="x", methods=["POST"], defaults={"b": 1})
    rule.provide_automatic_options = False
    copy = rule.empty()
    assert copy.rule == "/x/<int:a>" and copy.methods == {"POST"}
    assert copy.provide_automatic_options is False
    m = r.Map([copy])
    assert copy.arguments == {"a", "b"}
    assert list(m.iter_rules()) == [copy]
    with pytest.raises(ValueError):
        r.Rule("no-slash")


@pytest.mark.parametrize("slash_first", [True, False])
def test_defaults_redirect_only_to_earlier_rules(slash_first: bool) -> None:
    """Two rules of one endpoint with the same defaults: only a rule ahead of the
    matched one (in build order) may redirect to itself, as Werkzeug does."""
    pair = [("/list", {"page": 1}), ("/list/<int:page>", {"page": 1})]
    if not slash_first:
        pair.reverse()

    def outcome(mod, path: str):
        m = mod.Map([mod.Rule(rule, endpoint="lst", defaults=d) for rule, d in pair])
        try:
            return m.bind("localhost").match(path)
        except (wr.RequestRedirect, r.RequestRedirect) as e:
            return ("redirect", e.new_url)

    for path in ("/list", "/list/1", "/list/7"):
        assert outcome(r, path) == outcome(wr, path), path
    if slash_first:
        assert outcome(r, "/list") == ("lst", {"page": 1})
        assert outcome(r, "/list/7") == ("redirect", "http://localhost/list")
    else:
        assert outcome(r, "/list") == ("redirect", "http://localhost/list/1")


def test_app_serves_first_defaults_rule_directly() -> None:
    from corral.web import App

    app = App(__name__)

    def listing(page: int) -> str:
        return f"page {page}"

    app.add_url_rule("/list", "listing", listing, defaults={"page": 1})
    app.add_url_rule("/list/<int:page>", "listing", listing, defaults={"page": 1})
    client = app.test_client()
    resp = client.get("/list")
    assert resp.status_code == 200 and resp.data == b"page 1"
    resp = client.get("/list/1")
    assert resp.status_code == 308 and resp.location == "http://localhost/list"


# Every ASCII character, alone and beside others, and some beyond ASCII: the
# segment and path converters build the same text as Werkzeug's, whether the
# value needs quoting or not.
_CHARS = [chr(c) for c in range(128)] + ["é", "€", "\u2028", "\U0001f600"]
SEGMENTS = [*_CHARS, *(f"a{c}b" for c in _CHARS), "", "plain-name_1.txt~", "a/b c.txt", "%41", "x" * 300]


@pytest.mark.parametrize("kind", ["default", "path"])
def test_converter_quoting_agrees_with_werkzeug(kind):
    m, wm = r.Map(), wr.Map()
    ours = m.converters[kind](m)
    theirs = wm.converters[kind](wm)
    for text in SEGMENTS:
        assert ours.to_url(text) == theirs.to_url(text), repr(text)
    for value in (0, -3, 2.5, uuid.UUID(int=7), b"bytes"):
        assert ours.to_url(value) == theirs.to_url(value), repr(value)
