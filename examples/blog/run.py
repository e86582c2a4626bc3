"""Serve the demo blog with corral at http://127.0.0.1:8000 (``make run``).

On first run this creates the instance folder with a random secret key and the
SQLite database; then it replaces itself with ``python -m corral``.  Extra
arguments are passed to the server (``run.py -w 4``).
"""

from __future__ import annotations

import os
import secrets
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BIND = os.environ.get("BLOG_BIND", "127.0.0.1:8000")


def prepare() -> None:
    """Create instance/config.py and the database if they are missing."""
    sys.path.insert(0, HERE)
    from corralblog import create_app
    from corralblog.db import init_db

    app = create_app()
    config_file = os.path.join(app.instance_path, "config.py")
    if not os.path.exists(config_file):
        with open(config_file, "w") as f:
            f.write(f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
    if not os.path.exists(app.config["DATABASE"]):
        with app.app_context():
            init_db()
        print(f"Created the database {app.config['DATABASE']}", flush=True)


def main() -> None:
    prepare()
    print(f"Serving the blog at http://{BIND}/", flush=True)
    args = [
        sys.executable, "-m", "corral", "--chdir", HERE,
        "corralblog:create_app()", "-b", BIND, "--access-logfile", "-",
        *sys.argv[1:],
    ]
    os.execv(sys.executable, args)


if __name__ == "__main__":
    main()
