"""An unmodified Flask 3 app served by corral in the compatibility tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from flask import Flask, Response, jsonify, make_response, request, session

app = Flask(__name__)
app.secret_key = "test-only-secret"


@app.get("/")
def index() -> str:
    return "flask index"


@app.post("/form")
def form() -> Response:
    return jsonify(name=request.form["name"], tags=request.form.getlist("tag"))


@app.post("/upload")
def upload() -> Response:
    f = request.files["file"]
    data = f.read()
    return jsonify(filename=f.filename, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   note=request.form.get("note"))


@app.post("/json")
def echo_json() -> Response:
    return jsonify(request.get_json())


@app.get("/stream")
def stream() -> Response:
    def generate() -> Iterator[str]:
        for i in range(5):
            yield f"part {i}\n"

    return Response(generate(), mimetype="text/plain")


@app.get("/set-cookie")
def set_cookie() -> Response:
    resp = make_response("cookie set")
    resp.set_cookie("flavour", "oatmeal raisin", httponly=True)
    session["visits"] = 1
    return resp


@app.get("/get-cookie")
def get_cookie() -> Response:
    return jsonify(flavour=request.cookies.get("flavour"), visits=session.get("visits"))


@app.get("/redirect")
def redirect_me() -> Response:
    from flask import redirect, url_for

    return redirect(url_for("index"))  # type: ignore[return-value]
