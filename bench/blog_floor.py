"""The demo blog's shared work alone: what the page mix of bench/blog_e2e.py
costs in the libraries every framework running the blog has to call, with no
framework in the loop.

The end-to-end target (corral.web on corral at 5x the requests per second of
Flask on Gunicorn) asks corral.web to spend a fifth of what Flask spends per
request. Part of every request is not the framework's to save: Jinja renders
the blog's templates, sqlite3 opens the database and runs the blog's queries,
itsdangerous checks the session cookie, markupsafe escapes. If that part alone
costs more than a fifth of Flask's request, 5x cannot be reached by any
framework serving the blog unchanged.

For each page of ``PATHS`` (``/``, ``/auth/login``, ``/1/update``, ``/create``,
``/hello``) a request here does what the blog's hooks and view do, straight on
the libraries:

* session: the cookie of a logged-in user (``{"user_id": 1}``) is verified and
  decoded by an itsdangerous ``URLSafeTimedSerializer`` set up as Flask's
  ``SecureCookieSessionInterface`` sets it up (salt ``cookie-session``, HMAC-SHA1,
  ``hmac`` key derivation, 31-day max age, Flask's own ``TaggedJSONSerializer``
  from ``flask.json.tag``). The serializer is built once and the derived key
  kept, as corral.web does: the least a framework can do. A second figure, for
  reference only, builds the serializer and derives the key on every request,
  as Flask does.
* SQLite: a connection opened as ``corralblog/db.py`` opens it
  (``PARSE_DECLTYPES``, the blog's ``timestamp`` converter, ``sqlite3.Row``),
  the before-request query for the user, the view's query (all posts for ``/``,
  one post for ``/1/update``), then closed.
* templates: the page's template rendered by a plain ``jinja2.Environment``
  (``FileSystemLoader`` on the blog's templates, autoescape for ``.html`` and
  the other extensions Flask names, no auto-reload), with the view's context
  plus ``g`` (with ``user``), ``request`` (an empty ``form``) and ``session``;
  ``url_for`` returns a fixed string and ``get_flashed_messages`` an empty
  list; the page is encoded to UTF-8. ``/hello`` renders nothing.

The database is fresh and seeded directly with the blog's ``schema.sql``: one
user (``bench``, a scrypt hash laid out as the blog's) and 20 posts with the
titles and bodies bench/blog_e2e.py publishes. Figures are CPU time
(``time.process_time``) per request of the mix, best of the repeats, as in
bench/blog_inprocess.py: the whole request, then each part on its own. The
whole usually takes longer than the sum of its parts although it runs the same
instructions (callgrind counts them equal): interleaved, the three libraries
share the processor's caches and branch predictors, which each part alone has
to itself. For counts that do not move with the machine's load, run a loop of
``Floor`` under ``valgrind --tool=callgrind`` with two request counts and take
the difference, as bench/blog_inprocess.py suggests for its sides.

    .venv/bin/python bench/blog_floor.py [--requests 2000] [--repeats 3] [--compare] [--check]

``--compare`` also runs both sides of bench/blog_inprocess.py (each in its own
process, the same counts) and prints the shared work as a share of each. The
in-process figures include the test client's own work (building the environ,
keeping the cookie) and lack the server's, so they stand in only roughly for
what Flask spends per request under Gunicorn.
``--check`` renders the pages with ``url_for`` building the blog's real paths
and compares them with what corral.web's test client returns for the same
paths.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.blog_e2e import PATHS, POSTS  # noqa: E402
from bench.blog_inprocess import best  # noqa: E402

BLOG = ROOT / "examples" / "blog" / "corralblog"
SECRET = "bench secret"  # bench/blog_apps.py's default
MAX_AGE = int(timedelta(days=31).total_seconds())  # PERMANENT_SESSION_LIFETIME
USERNAME = "bench"  # as bench/blog_e2e.py's seed registers

USER_SQL = "SELECT * FROM user WHERE id = ?"
POST_COLUMNS = (
    "SELECT p.id, title, body, created, author_id, username"
    " FROM post p JOIN user u ON p.author_id = u.id"
)
POSTS_SQL = POST_COLUMNS + " ORDER BY created DESC, p.id DESC"
POST_SQL = POST_COLUMNS + " WHERE p.id = ?"

# the endpoints the templates name, with the paths the blog gives them (--check)
URLS = {
    "static": "/static/{filename}",
    "index": "/",
    "auth.login": "/auth/login",
    "auth.logout": "/auth/logout",
    "auth.register": "/auth/register",
    "blog.create": "/create",
    "blog.update": "/{id}/update",
    "blog.delete": "/{id}/delete",
}


def _parse_timestamp(value: bytes) -> datetime:
    return datetime.fromisoformat(value.decode())


sqlite3.register_converter("timestamp", _parse_timestamp)  # as corralblog/db.py


# -- seeding ------------------------------------------------------------------


def password_hash(password: str) -> str:
    """A hash in the blog's layout (``scrypt:N:R:P$SALT$HEX``), so the user row
    is as long as the one the blog stores."""
    n, r, p = 2**15, 8, 1
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                            maxmem=132 * n * r * p).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${digest}"


def seed_db(path: str) -> None:
    """The blog's tables, one user and the posts bench/blog_e2e.py publishes."""
    db = sqlite3.connect(path)
    db.executescript((BLOG / "schema.sql").read_text())
    db.execute("INSERT INTO user (username, password) VALUES (?, ?)",
               (USERNAME, password_hash("bench password")))
    for i in range(POSTS):
        db.execute("INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
                   (f"Post {i}", f"Body of post {i}.\n" * 5, 1))
    db.commit()
    db.close()


# -- the three parts ----------------------------------------------------------


_DERIVED: dict[tuple[bytes, bytes], bytes] = {}


class _KeptKeySigner(TimestampSigner):
    """itsdangerous's timestamp signer, deriving its key once rather than on
    every verification (the key depends only on the secret and the salt)."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = _DERIVED.get((secret, self.salt))
        if key is None:
            key = _DERIVED[secret, self.salt] = super().derive_key(secret)
        return key


def session_serializer(signer: type[TimestampSigner] = TimestampSigner) -> URLSafeTimedSerializer:
    """The session cookie's serializer, configured as Flask configures it."""
    return URLSafeTimedSerializer(
        [SECRET],
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer=signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def connect(path: str) -> sqlite3.Connection:
    """A connection as corralblog/db.py's ``get_db`` opens it."""
    db = sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES)
    db.row_factory = sqlite3.Row
    return db


def _no_query(db: sqlite3.Connection) -> dict[str, Any]:
    return {}


def _index_query(db: sqlite3.Connection) -> dict[str, Any]:
    return {"posts": db.execute(POSTS_SQL).fetchall()}


def _update_query(db: sqlite3.Connection) -> dict[str, Any]:
    return {"post": db.execute(POST_SQL, (1,)).fetchone()}


# path -> (template, the view's query giving its context)
PAGES: dict[str, tuple[str | None, Callable[[sqlite3.Connection], dict[str, Any]]]] = {
    "/": ("blog/index.html", _index_query),
    "/auth/login": ("auth/login.html", _no_query),
    "/1/update": ("blog/update.html", _update_query),
    "/create": ("blog/create.html", _no_query),
    "/hello": (None, _no_query),
}
assert list(PAGES) == PATHS, "the page mix of bench/blog_e2e.py changed"


def _autoescape(name: str | None) -> bool:
    return name is None or name.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))


def _fixed_url(endpoint: str, **values: Any) -> str:
    return "/auth/login"


def _real_url(endpoint: str, **values: Any) -> str:
    return URLS[endpoint].format(**values)


def _no_flashes(with_categories: bool = False, category_filter: Any = ()) -> list[Any]:
    return []


def environment(url_for: Callable[..., str] = _fixed_url) -> jinja2.Environment:
    """A plain Jinja environment on the blog's templates, with the globals they use."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(BLOG / "templates"),
                             autoescape=_autoescape, auto_reload=False)
    env.globals.update(url_for=url_for, get_flashed_messages=_no_flashes)
    return env


REQUEST = SimpleNamespace(form={})  # a GET: request.form is empty


def render(env: jinja2.Environment, template: str | None, context: dict[str, Any],
           user: sqlite3.Row | None, session: dict[str, Any]) -> bytes:
    if template is None:
        return b""
    page = env.get_template(template).render(
        context, g=SimpleNamespace(user=user), request=REQUEST, session=session)
    return page.encode()


# -- timing -------------------------------------------------------------------


class Floor:
    """The fresh database, the session cookie and the loops over the page mix."""

    def __init__(self) -> None:
        self.db_path = os.path.join(tempfile.mkdtemp(), "blog.sqlite")
        seed_db(self.db_path)
        self.serializer = session_serializer(_KeptKeySigner)
        self.cookie = session_serializer().dumps({"user_id": 1})
        self.env = environment()
        # rows for the templates-only loop, fetched once
        db = connect(self.db_path)
        self.user = db.execute(USER_SQL, (1,)).fetchone()
        self.contexts = {path: query(db) for path, (_t, query) in PAGES.items()}
        db.close()

    def request(self, path: str) -> bytes:
        """One request of the mix: session, hook query, view query, render, close."""
        session = self.serializer.loads(self.cookie, max_age=MAX_AGE)
        template, query = PAGES[path]
        db = connect(self.db_path)
        try:
            user_id = session.get("user_id")
            user = None if user_id is None else db.execute(USER_SQL, (user_id,)).fetchone()
            return render(self.env, template, query(db), user, session)
        finally:
            db.close()

    def whole(self, n: int) -> None:
        for i in range(n):
            self.request(PATHS[i % len(PATHS)])

    def templates(self, n: int) -> None:
        for i in range(n):
            path = PATHS[i % len(PATHS)]
            render(self.env, PAGES[path][0], self.contexts[path], self.user, {"user_id": 1})

    def sqlite(self, n: int) -> None:
        for i in range(n):
            db = connect(self.db_path)
            db.execute(USER_SQL, (1,)).fetchone()
            PAGES[PATHS[i % len(PATHS)]][1](db)
            db.close()

    def session(self, n: int) -> None:
        for _ in range(n):
            self.serializer.loads(self.cookie, max_age=MAX_AGE)

    def session_as_flask(self, n: int) -> None:
        for _ in range(n):
            session_serializer().loads(self.cookie, max_age=MAX_AGE)


# -- --compare and --check ----------------------------------------------------


def inprocess(side: str, requests: int, repeats: int) -> float:
    """µs per request of one side of bench/blog_inprocess.py, in its own process."""
    cmd = [sys.executable, str(ROOT / "bench" / "blog_inprocess.py"), "--side", side,
           "--requests", str(requests), "--repeats", str(repeats)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    found = re.search(r"([\d.]+) us per request", out)
    if found is None:
        raise RuntimeError(f"unexpected output from {side}: {out!r}")
    return float(found.group(1))


def check(floor: Floor) -> None:
    """Each page as rendered here (with the real paths) against corral.web's test client."""
    from bench.blog_inprocess import _client  # imports corral.web: only here

    client = _client("corral")
    cookie = client.get_cookie("session")
    print(f"check: corral.web's session cookie holds "
          f"{floor.serializer.loads(cookie.value, max_age=MAX_AGE)}")
    floor.env = environment(_real_url)
    for path in PATHS:
        mine = floor.request(path)
        theirs = client.get(path).data
        if path == "/hello":
            mine = b"Hello, World!"  # the view's own string, no template
        same = "identical" if mine == theirs else "DIFFERENT"
        print(f"check: {path:12s} here {len(mine):6d} bytes, corral.web {len(theirs):6d} bytes: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare", action="store_true",
                    help="also run both sides of bench/blog_inprocess.py")
    ap.add_argument("--check", action="store_true",
                    help="compare the rendered pages with corral.web's")
    args = ap.parse_args()

    floor = Floor()
    total = best(floor.whole, args.requests, args.repeats)
    parts = {
        "templates": best(floor.templates, args.requests, args.repeats),
        "SQLite": best(floor.sqlite, args.requests, args.repeats),
        "session": best(floor.session, args.requests, args.repeats),
    }
    flask_way = best(floor.session_as_flask, args.requests, args.repeats)
    print(f"shared work: {total * 1e6:.0f} us per request of the mix")
    for name, spent in parts.items():
        print(f"  {name:10s} {spent * 1e6:6.0f} us")
    print(f"  (sum of parts {sum(parts.values()) * 1e6:.0f} us; the session as Flask opens it, "
          f"serializer and key made per request: {flask_way * 1e6:.0f} us)")
    if args.compare:
        for side in ("corral", "flask"):
            spent = inprocess(side, args.requests, args.repeats)
            print(f"{side} in-process: {spent:.0f} us per request; shared work is "
                  f"{total * 1e6 / spent:.0%} of it")
    if args.check:
        check(floor)


if __name__ == "__main__":
    main()
