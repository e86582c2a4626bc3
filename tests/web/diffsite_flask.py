"""A small site written against Flask's API.

``diffsite_corral`` runs this very source with only the imports changed
(``from flask import`` -> ``from corral.web import``, ``Flask(`` -> ``App(``);
the differential tests compare what the two answer.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    render_template_string,
    request,
    send_file,
    send_from_directory,
    session,
    stream_template,
    url_for,
)
from markupsafe import Markup

HERE = os.path.dirname(os.path.abspath(__file__))


def create_app() -> Any:
    app = Flask(
        __name__,
        root_path=HERE,
        template_folder="diffsite/templates",
        static_folder="diffsite/static",
    )
    app.config.update(SECRET_KEY="differential secret", MAX_CONTENT_LENGTH=64 * 1024)

    @app.context_processor
    def site_name() -> dict[str, Any]:
        return {"site_name": "Differential <Site>"}

    @app.template_filter("shout")
    def shout(value: str) -> str:
        return value.upper() + "!"

    @app.before_request
    def who() -> None:
        g.user = session.get("user")

    @app.route("/")
    def index() -> Any:
        items = [{"name": "apple", "price": 1.5}, {"name": "<pear>", "price": 2}]
        return render_template("index.html", items=items, note=Markup("<em>safe</em>"))

    @app.route("/string")
    def string() -> Any:
        return render_template_string(
            "{{ greeting|shout }} {{ url_for('index', page=2) }} {{ data|tojson }}",
            greeting="hello <you>",
            data={"b": [1, 2], "a": "</script>"},
        )

    @app.route("/stream")
    def stream() -> Any:
        return app.response_class(stream_template("list.txt", items=range(5)))

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        session["user"] = request.form["user"]
        session.permanent = request.form.get("remember") == "yes"
        flash(f"Welcome, {request.form['user']}!", "info")
        flash("Second message")
        return redirect(url_for("whoami"))

    @app.route("/whoami")
    def whoami() -> Any:
        return render_template("whoami.html")

    @app.route("/logout")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("index"))

    @app.route("/types/set")
    def set_types() -> Any:
        session["tuple"] = (1, "two", (3,))
        session["bytes"] = b"\x00\x01binary"
        session["markup"] = Markup("<b>marked</b>")
        session["uuid"] = uuid.UUID("0badcafe-0000-4000-8000-000000000001")
        session["when"] = datetime(2021, 5, 4, 3, 2, 1, tzinfo=timezone.utc)
        session["tagged"] = {" t": "looks tagged"}
        return "ok"

    @app.route("/types/get")
    def get_types() -> Any:
        return repr(sorted((k, repr(v)) for k, v in session.items()))

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        files = []
        for key, storage in request.files.items(multi=True):
            data = storage.read()
            files.append(
                {
                    "field": key,
                    "filename": storage.filename,
                    "mimetype": storage.mimetype,
                    "size": len(data),
                    "sha1": hashlib.sha1(data).hexdigest(),
                }
            )
        form = {k: request.form.getlist(k) for k in sorted(request.form)}
        return jsonify(files=files, form=form)

    @app.route("/download")
    def download() -> Any:
        return send_file(
            io.BytesIO("caf\u00e9 au lait\n".encode()),
            download_name="r\u00e9sum\u00e9 2024.txt",
            as_attachment=True,
        )

    @app.route("/file/<path:name>")
    def file(name: str) -> Any:
        return send_from_directory(os.path.join(HERE, "diffsite", "static"), name)

    @app.route("/file-cached")
    def file_cached() -> Any:
        return send_file("diffsite/static/site.css", max_age=120)

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.context_processor
    def admin_ctx() -> dict[str, Any]:
        return {"area": "admin"}

    @admin.route("/")
    def admin_index() -> Any:
        return render_template_string("{{ area }}:{{ site_name }}:{{ request.blueprint }}")

    app.register_blueprint(admin)
    return app
