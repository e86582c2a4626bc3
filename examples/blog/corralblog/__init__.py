"""corralblog: a small blog written with corral.web.

Serve it with ``corral "corralblog:create_app()"`` from ``examples/blog`` (or
``make run``); create its database first with ``corral-web --app corralblog init-db``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from corral.web import App


def create_app(test_config: Mapping[str, Any] | None = None) -> App:
    """Build the app: config, instance folder, database hooks and blueprints."""
    app = App(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "corralblog.sqlite"),
    )
    if test_config is None:
        # The instance config (if any) and CORRAL_* variables override the defaults.
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)

    @app.route("/hello")
    def hello() -> str:
        return "Hello, World!"

    from . import auth, blog, db

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    app.add_url_rule("/", endpoint="index")
    return app
