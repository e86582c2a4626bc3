"""Templates: loaders, autoescape, context, filters, signals, streaming, reload."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound
from markupsafe import Markup

from corral.web import (
    App,
    Blueprint,
    before_render_template,
    flash,
    g,
    render_template,
    render_template_string,
    session,
    stream_template,
    stream_template_string,
    template_rendered,
)
from corral.web.templating import select_jinja_autoescape


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def site(tmp_path: Path) -> App:
    write(tmp_path / "templates" / "page.html", "{{ value }}|{{ config.NAME }}")
    write(tmp_path / "templates" / "plain.txt", "{{ value }}")
    write(tmp_path / "templates" / "shared.html", "app version")
    write(tmp_path / "bp" / "tpl" / "shared.html", "blueprint version")
    write(tmp_path / "bp" / "tpl" / "bp_only.html", "from bp: {{ extra }}")
    app = App("site", root_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", NAME="site")
    bp = Blueprint("bp", "site.bp", template_folder="tpl", root_path=str(tmp_path / "bp"))

    @bp.route("/bp")
    def bp_view() -> str:
        return render_template("bp_only.html")

    @bp.context_processor
    def bp_processor() -> dict[str, Any]:
        return {"extra": "bp-extra"}

    app.register_blueprint(bp)
    return app


def test_render_and_autoescape(site: App) -> None:
    with site.test_request_context():
        assert render_template("page.html", value="<b>") == "&lt;b&gt;|site"
        assert render_template("plain.txt", value="<b>") == "<b>"
        assert render_template_string("{{ v }}", v="<i>") == "&lt;i&gt;"
        assert render_template_string("{{ v }}", v=Markup("<i>")) == "<i>"
    for name, escaped in [
        ("a.html", True), ("a.htm", True), ("a.xml", True), ("a.xhtml", True),
        ("a.svg", True), ("a.txt", False), ("a.js", False), (None, True),
    ]:
        assert select_jinja_autoescape(name) is escaped


def test_loader_order_and_lists(site: App) -> None:
    with site.test_request_context():
        assert render_template("shared.html") == "app version"
        assert render_template(["missing.html", "shared.html"]) == "app version"
        with pytest.raises(TemplateNotFound):
            render_template("missing.html")
    assert site.test_client().get("/bp").data == b"from bp: bp-extra"
    assert {"page.html", "bp_only.html", "shared.html"} <= set(site.jinja_env.list_templates())


def test_standard_context(site: App) -> None:
    @site.route("/ctx")
    def ctx() -> str:
        g.who = "gee"
        session["s"] = "sess"
        flash("flashed")
        return render_template_string(
            "{{ g.who }} {{ session.s }} {{ request.path }} {{ config.NAME }}"
            " {{ url_for('ctx', q=1) }} {{ get_flashed_messages()|join(',') }}"
        )

    assert site.test_client().get("/ctx").data == b"gee sess /ctx site /ctx?q=1 flashed"
    with site.app_context():
        assert render_template_string("{{ config.NAME }}|{% if request %}req{% endif %}") == "site|"


def test_context_processors_scope_and_precedence(site: App) -> None:
    @site.context_processor
    def app_processor() -> dict[str, Any]:
        return {"who": "processor", "shared": "app"}

    @site.route("/p")
    def p() -> str:
        return render_template_string("{{ who }} {{ shared }} {{ extra }}", who="caller")

    # Blueprint processors only run for that blueprint's requests.
    assert site.test_client().get("/p").data == b"caller app "


def test_filters_tests_globals(site: App) -> None:
    @site.template_filter()
    def reverse(s: str) -> str:
        return s[::-1]

    @site.template_test("short")
    def is_short(s: str) -> bool:
        return len(s) < 3

    @site.template_global()
    def answer() -> int:
        return 42

    bp = Blueprint("tools", __name__)
    bp.add_app_template_filter(str.upper, "shout")

    @bp.app_template_test()
    def even(n: int) -> bool:
        return n % 2 == 0

    @bp.app_template_global("hello")
    def hello_global() -> str:
        return "hi"

    site.register_blueprint(bp)
    with site.app_context():
        out = render_template_string(
            "{{ 'abc'|reverse }} {{ 'ab' is short }} {{ answer() }}"
            " {{ 'x'|shout }} {{ 4 is even }} {{ hello() }}"
        )
    assert out == "cba True 42 X True hi"


def test_tojson_uses_app_json(site: App) -> None:
    class Custom:
        pass

    original = site.json.default  # type: ignore[attr-defined]

    def default(o: Any) -> Any:
        if isinstance(o, Custom):
            return "custom!"
        return original(o)

    site.json.default = default  # type: ignore[attr-defined]
    with site.app_context():
        rv = render_template_string("{{ data|tojson }}", data={"b": Custom(), "a": "</script>"})
    assert rv == '{"a": "\\u003c/script\\u003e", "b": "custom!"}'


def test_signals_have_app_as_sender(site: App) -> None:
    seen: list[tuple[str, Any, str | None, dict[str, Any]]] = []

    def before(sender: Any, template: Any, context: dict[str, Any]) -> None:
        seen.append(("before", sender, template.name, dict(context)))

    def rendered(sender: Any, template: Any, context: dict[str, Any]) -> None:
        seen.append(("rendered", sender, template.name, dict(context)))

    with before_render_template.connected_to(before), template_rendered.connected_to(rendered):
        with site.test_request_context():
            render_template("page.html", value=1)
    assert [s[0] for s in seen] == ["before", "rendered"]
    assert all(s[1] is site and s[2] == "page.html" for s in seen)
    assert seen[0][3]["value"] == 1 and "g" in seen[0][3] and "request" in seen[0][3]


def test_stream_template(site: App) -> None:
    @site.route("/stream")
    def stream() -> Any:
        return site.response_class(stream_template("page.html", value="<x>"))

    @site.route("/stream-string")
    def stream_string() -> Any:
        inner = stream_template_string(
            "{% for i in items %}{{ i }}{{ request.path }}{% endfor %}", items=[1, 2]
        )

        def parts() -> Iterator[str]:
            yield "["
            yield from inner
            yield "]"

        return site.response_class(parts())

    client = site.test_client()
    assert client.get("/stream").data == b"&lt;x&gt;|site"
    # The request context is kept alive while the body is generated.
    assert client.get("/stream-string").data == b"[1/stream-string2/stream-string]"


def test_auto_reload(site: App, tmp_path: Path) -> None:
    site.config["TEMPLATES_AUTO_RELOAD"] = True
    page = tmp_path / "templates" / "page.html"
    with site.app_context():
        assert render_template("page.html", value=1) == "1|site"
        page.write_text("changed {{ value }}")
        stamp = time.time() + 5
        os.utime(page, (stamp, stamp))
        assert render_template("page.html", value=1) == "changed 1"


def test_auto_reload_defaults_to_debug(tmp_path: Path) -> None:
    app = App("a", root_path=str(tmp_path))
    assert app.jinja_env.auto_reload is False
    debug_app = App("b", root_path=str(tmp_path))
    debug_app.debug = True
    assert debug_app.jinja_env.auto_reload is True
    fixed = App("c", root_path=str(tmp_path))
    fixed.config["TEMPLATES_AUTO_RELOAD"] = False
    fixed.debug = True
    assert fixed.jinja_env.auto_reload is False


def test_explain_template_loading(site: App, caplog: pytest.LogCaptureFixture) -> None:
    site.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with caplog.at_level(logging.INFO, logger=site.logger.name):
        with site.app_context():
            render_template("shared.html")
            with pytest.raises(TemplateNotFound):
                render_template("nowhere.html")
    text = caplog.text
    assert "Locating template 'shared.html'" in text
    assert "blueprint 'bp'" in text
    assert "could not be found" in text
