"""URL building compared with Werkzeug's: every endpoint of a few maps with many
sets of values, methods, schemes and bindings must give the same URL, or fail
the same way."""

import uuid

import pytest
from werkzeug import routing as wr
from werkzeug.datastructures import MultiDict as WMultiDict

from corral.web import routing as r
from corral.web.http.datastructures import MultiDict

# (rule, endpoint, options)
RULES = [
    ("/", "index", {}),
    ("/user/<int:uid>", "user", {}),
    ("/user/<name>", "user", {}),
    ("/blog/", "blog", {"defaults": {"page": 1}}),
    ("/blog/page/<int:page>", "blog", {}),
    ("/items", "items", {"methods": ["GET"]}),
    ("/items/new", "items", {"methods": ["POST"]}),
    ("/files/<path:filename>", "files", {}),
    ("/lang/<any(en, fr):lang>", "lang", {}),
    ("/fixed/<int(fixed_digits=3):n>", "fixed", {}),
    ("/f/<float:x>", "float", {}),
    ("/neg/<int(signed=True):n>", "signed", {}),
    ("/u/<uuid:id>", "uuid", {}),
    ("/s/<string(length=2):code>", "code", {}),
    ("/x/<a>.<ext>", "dotted", {}),
    ("/old", "moved", {"alias": True}),
    ("/new", "moved", {}),
    ("/d/<name>", "own_default", {"defaults": {"name": "me"}}),
    ("/k/<int:id>", "with_extra", {"defaults": {"kind": "a"}}),
    ("/k/<int:id>/b", "with_extra", {"defaults": {"kind": "b"}}),
    ("/sp ace/é/<a>", "quoted", {}),
    ("/only", "build_only", {"build_only": True}),
    ("/sub", "sub", {"subdomain": "api"}),
    ("/any-sub/<x>", "any_sub", {"subdomain": "<user>"}),
    ("/ws", "ws", {"websocket": True}),
]

ENDPOINTS = sorted({endpoint for _, endpoint, _ in RULES}) + ["missing"]

VALUES = [
    {},
    {"uid": 7},
    {"uid": "7"},
    {"uid": 7, "q": "x y", "tag": ["a", "b"], "e": "é/&=+#"},
    {"uid": 7, "none": None},
    {"uid": None, "name": "bob"},
    {"name": "a b/é?#%"},
    {"name": ""},
    {"page": 1},
    {"page": 2},
    {"page": 1, "sort": "new"},
    {"filename": "a/b c.txt"},
    {"filename": "/lead/slash"},
    {"lang": "fr"},
    {"lang": "de"},
    {"n": 5},
    {"n": -5},
    {"n": 1234},
    {"x": 1.5},
    {"x": 2},
    {"id": uuid.UUID(int=9)},
    {"id": 3},
    {"id": 3, "kind": "b"},
    {"id": 3, "kind": "c"},
    {"code": "ab"},
    {"code": "abc"},
    {"a": "file", "ext": "txt"},
    {"a": "x y"},
    {"name": "me"},
    {"name": "you"},
    {"user": "alice", "x": "1"},
    {"x": "1"},
    {"q": ("t", "u"), "r": {"s"}, "b": b"v\xff "},
    {"q": "!$'()*,/:;?@&=+ ~\u2028"},
    {"q": True, "r": 0, "s": 1.25},
    {"uid": "abc"},
    {"lang": "de", "name": "x"},
    {"n": "x"},
]

MULTIDICTS = [
    [("uid", 1), ("x", "1"), ("x", "2")],
    [("uid", 1), ("uid", 2)],
    [("page", 1), ("y", None)],
    [("name", "n"), ("name", None)],
    [("id", 4), ("kind", "b"), ("kind", "b")],
]


def _map(mod, **options):
    m = mod.Map(**options)
    for rule, endpoint, kwargs in RULES:
        m.add(mod.Rule(rule, endpoint=endpoint, **kwargs))
    return m


def _outcome(adapter, *args, message=True, **kwargs):
    try:
        return ("ok", adapter.build(*args, **kwargs))
    except (r.BuildError, wr.BuildError) as e:
        # the message scores every rule of the map: it is compared for some calls only
        text = str(e) if message else None
        return ("BuildError", e.endpoint, sorted(map(repr, e.values.items())), e.method, text)
    except ValueError:
        # A converter's ValueError (an int converter given "abc", an any()
        # converter given a value not listed) escapes Werkzeug's build; here the
        # rule refuses the values, and the build fails with a BuildError, or
        # goes on to the endpoint's next rule.
        return ("ValueError",)
    except Exception as e:  # the same error type as Werkzeug's
        return ("error", type(e).__name__)


def _agrees(ours, theirs):
    """Our outcome is Werkzeug's, or a BuildError or URL where Werkzeug lets a
    converter's ValueError escape."""
    if theirs == ("ValueError",):
        return ours[0] in ("BuildError", "ok")
    return ours == theirs


BINDINGS = [
    ({}, ("example.com", "/")),
    ({}, ("example.com", "/app/", "api", "https")),
    ({"sort_parameters": True}, ("example.com", "/")),
    ({"sort_parameters": True, "sort_key": lambda kv: str(kv[1])}, ("example.com", "/")),
    ({"default_subdomain": "api"}, ("example.com:8080", "/root", None, "http", "POST")),
    ({}, ("example.com", "/", None, "ws")),
    ({}, ("example.com", "/", None, "ftp")),
]


@pytest.fixture(scope="module", params=range(len(BINDINGS)), ids=lambda i: f"binding{i}")
def adapters(request):
    options, bind_args = BINDINGS[request.param]
    return _map(r, **options).bind(*bind_args), _map(wr, **options).bind(*bind_args)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_build_agrees_with_werkzeug(adapters, endpoint):
    ours, theirs = adapters
    for values in VALUES:
        for kwargs in (
            {},
            {"method": "POST"},
            {"method": "GET"},
            {"force_external": True},
            {"force_external": True, "url_scheme": "https"},
            {"url_scheme": "wss"},
            {"force_external": True, "url_scheme": ""},
            {"append_unknown": False},
        ):
            message = not kwargs
            expected = _outcome(theirs, endpoint, dict(values), message=message, **kwargs)
            got = _outcome(ours, endpoint, dict(values), message=message, **kwargs)
            assert _agrees(got, expected), (values, kwargs, got, expected)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_build_multidict_agrees_with_werkzeug(adapters, endpoint):
    ours, theirs = adapters
    for items in MULTIDICTS:
        expected = _outcome(theirs, endpoint, WMultiDict(items))
        got = _outcome(ours, endpoint, MultiDict(items))
        assert _agrees(got, expected), (items, got, expected)


def test_build_does_not_change_the_values():
    adapter = _map(r).bind("example.com")
    values = {"uid": 7, "q": None, "tag": ["a", "b"]}
    assert adapter.build("user", values) == "/user/7?tag=a&tag=b"
    assert values == {"uid": 7, "q": None, "tag": ["a", "b"]}


HOST_RULES = [
    ("/", "home", {"host": "example.com"}),
    ("/", "home", {"host": "other.com"}),
    ("/p/<a>", "page", {"host": "<sub>.example.com"}),
    ("/p/<a>", "page", {"host": "other.com"}),
    ("/q/<a>", "other_only", {"host": "other.com"}),
]


@pytest.mark.parametrize("server_name", ["example.com", "other.com", "x.example.com"])
def test_host_matching_build_agrees_with_werkzeug(server_name):
    def adapter(mod):
        m = mod.Map(host_matching=True)
        for rule, endpoint, kwargs in HOST_RULES:
            m.add(mod.Rule(rule, endpoint=endpoint, **kwargs))
        return m.bind(server_name)

    ours, theirs = adapter(r), adapter(wr)
    for endpoint in ("home", "page", "other_only", "missing"):
        for values in ({}, {"a": "1"}, {"a": "1", "sub": "x"}, {"sub": "x"}):
            for external in (False, True):
                expected = _outcome(theirs, endpoint, dict(values), force_external=external)
                got = _outcome(ours, endpoint, dict(values), force_external=external)
                assert got == expected, (endpoint, values, external)


class _Text(str):
    def __str__(self):
        return "other"


class _Number(int):
    def __str__(self):
        return "n"


# each printable character and some beyond ASCII, alone and in text, as keys
# and values, and values of other types
_QUERY_ITEMS = [
    *(chr(c) for c in range(128)), "é", "\u2028", "\U0001f600", "", "a b", "a+b", "a=b",
    "a&b", "plain-text_1.~", 0, -3, 2.5, float("nan"), True, b"b y", b"\xff", _Text("x"),
    _Number(4), uuid.UUID(int=3), ("t",),
]  # fmt: skip


@pytest.mark.parametrize("query", [
    {"a": "1", "b": None},
    {"q": "a b/c?d", "n": 3},
    MultiDict([("x", "1"), ("x", "2"), ("y", "\u00e9")]),
    "already=encoded",
])
def test_redirect_url_query_agrees_with_werkzeug(query):
    wquery = WMultiDict(list(query.items(multi=True))) if isinstance(query, MultiDict) else query
    ours = _map(r).bind("example.com", "/app").make_redirect_url("/a", query)
    theirs = _map(wr).bind("example.com", "/app").make_redirect_url("/a", wquery)
    assert ours == theirs


def test_encode_query_agrees_with_urlencode():
    from urllib.parse import urlencode

    from corral.web.routing.rules import _QUERY_SAFE, encode_query

    for item in _QUERY_ITEMS:
        for pairs in ([("k", item)], [(item, "v")], [(item, item), ("a", "b c")]):
            assert encode_query(pairs) == urlencode(pairs, safe=_QUERY_SAFE), pairs
    assert encode_query([("a", None), ("b", 1), ("c", None)]) == "b=1"
    assert encode_query([]) == ""


def _url_for_outcomes(module, app_class):
    app = app_class(__name__)
    bp = module.Blueprint("bp", __name__, url_prefix="/bp")
    for rule, endpoint in [("/", "index"), ("/user/<int:id>", "user"), ("/<path:p>/x", "deep")]:
        app.add_url_rule(rule, endpoint, lambda **kw: "")
    bp.add_url_rule("/item/<name>", "item", lambda **kw: "")
    bp.add_url_rule("/", "home", lambda **kw: "")
    app.register_blueprint(bp)
    calls = [
        ("index", {}),
        ("index", {"_anchor": "top part#1"}),
        ("user", {"id": 3, "q": "a b", "n": None}),
        ("user", {"id": 3, "_external": True}),
        ("user", {"id": 3, "_scheme": "https", "_external": True}),
        ("user", {"id": 3, "_method": "GET"}),
        ("user", {"id": 3, "_method": "POST"}),
        ("user", {}),
        ("user", {"id": 3, "_scheme": "https"}),
        ("deep", {"p": "a/b c", "t": ["1", "2"]}),
        (".home", {}),
        (".item", {"name": "x"}),
        ("bp.item", {"name": "x y", "_anchor": "a"}),
        ("missing", {"a": 1}),
    ]
    outcomes = []
    for path in ("/", "/bp/item/y"):
        with app.test_request_context(path, base_url="http://example.com/root"):
            for endpoint, values in calls:
                try:
                    outcomes.append(module.url_for(endpoint, **values))
                except Exception as e:  # compared with Flask's
                    outcomes.append((type(e).__name__, str(e)))
    return outcomes


def test_url_for_agrees_with_flask():
    flask = pytest.importorskip("flask")
    import corral.web as web

    assert _url_for_outcomes(web, web.App) == _url_for_outcomes(flask, flask.Flask)
