import io

import pytest
from werkzeug.formparser import parse_form_data as wz_parse_form_data

from corral.web.http.exceptions import BadRequest, RequestEntityTooLarge
from corral.web.http.formparser import parse_form_bytes, parse_form_data
from corral.web.http.request import Request

BOUNDARY = "----corralboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(*parts: tuple[str, str | None, bytes, str | None], boundary: str = BOUNDARY) -> bytes:
    out = []
    for name, filename, data, ctype in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        out.append(head.encode() + b"\r\n" + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def environ_for(body: bytes, content_type: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }


def test_multipart_fields_and_files_match_werkzeug():
    body = multipart(
        ("title", None, "héllo".encode(), None),
        ("tags", None, b"a", None),
        ("tags", None, b"b", None),
        ("upload", "notes.txt", b"line1\r\nline2", "text/plain"),
        ("empty", "", b"", "application/octet-stream"),
    )
    _, form, files = parse_form_data(environ_for(body, MULTIPART))
    _, wform, wfiles = wz_parse_form_data(environ_for(body, MULTIPART))
    assert list(form.items(multi=True)) == list(wform.items(multi=True))
    assert list(files) == list(wfiles)
    for key in files:
        ours, theirs = files[key], wfiles[key]
        assert (ours.filename, ours.name, ours.content_type, ours.mimetype) == (
            theirs.filename, theirs.name, theirs.content_type, theirs.mimetype
        )
        assert ours.read() == theirs.read()
    for storage in [*files.values(), *wfiles.values()]:
        storage.close()


def test_urlencoded_matches_werkzeug():
    body = b"a=1&a=2&b=x+y%21&c=&d&%C3%A9=%C3%A8"
    ctype = "application/x-www-form-urlencoded"
    _, form, files = parse_form_data(environ_for(body, ctype))
    _, wform, _ = wz_parse_form_data(environ_for(body, ctype))
    assert list(form.items(multi=True)) == list(wform.items(multi=True))
    assert not files


def test_filename_star_and_charset():
    body = (
        f"--{BOUNDARY}\r\n"
        "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n"
        "\r\ndata\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="t"\r\nContent-Type: text/plain; charset=latin-1\r\n'
        f"\r\n\xe9\r\n--{BOUNDARY}--\r\n"
    ).encode("latin-1")
    _, form, files = parse_form_bytes(body, MULTIPART)
    assert files["f"].filename == "€ rates.txt"
    assert form["t"] == "é"


def test_large_file_spools_to_disk():
    big = b"x" * (600 * 1024)
    small = b"y" * 1000
    body = multipart(("big", "big.bin", big, None), ("small", "s.bin", small, None))
    _, _form, files = parse_form_bytes(body, MULTIPART)
    assert files["big"].stream._rolled is True
    assert files["small"].stream._rolled is False
    assert files["big"].read() == big
    assert files["small"].read() == small


def test_streaming_across_chunks():
    payload = bytes(range(256)) * 1024
    body = multipart(("f", "bin", payload, "application/octet-stream"), ("x", None, b"1", None))
    _, form, files = parse_form_bytes(body, MULTIPART)
    assert files["f"].read() == payload and form["x"] == "1"


def test_max_form_memory_size():
    body = multipart(("field", None, b"z" * 100, None))
    with pytest.raises(RequestEntityTooLarge):
        parse_form_bytes(body, MULTIPART, max_form_memory_size=50)
    _, form, _ = parse_form_bytes(body, MULTIPART, max_form_memory_size=500)
    assert form["field"] == "z" * 100
    # files do not count against the in-memory limit
    file_body = multipart(("f", "a.bin", b"z" * 1000, None))
    _, _, files = parse_form_bytes(file_body, MULTIPART, max_form_memory_size=50)
    assert files["f"].read() == b"z" * 1000
    with pytest.raises(RequestEntityTooLarge):
        parse_form_bytes(b"a=" + b"1" * 100, "application/x-www-form-urlencoded", max_form_memory_size=50)


def test_max_form_parts():
    body = multipart(*[(f"f{i}", None, b"v", None) for i in range(5)])
    with pytest.raises(RequestEntityTooLarge):
        parse_form_bytes(body, MULTIPART, max_form_parts=4)
    assert len(parse_form_bytes(body, MULTIPART, max_form_parts=5)[1]) == 5
    with pytest.raises(RequestEntityTooLarge):
        parse_form_bytes(b"a=1&b=2&c=3", "application/x-www-form-urlencoded", max_form_parts=2)


def test_max_content_length():
    body = b"a=1"
    with pytest.raises(RequestEntityTooLarge):
        parse_form_data(environ_for(body, "application/x-www-form-urlencoded"), max_content_length=2)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--x\r\nnot headers\r\n\r\n", "multipart/form-data; boundary=x"),
        (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "multipart/form-data; boundary=x"),
        (b"anything", "multipart/form-data"),
        (b"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--\r\n", "multipart/form-data; boundary=x"),
        (b"garbage without boundary", "multipart/form-data; boundary=x"),
    ],
)
def test_malformed_multipart_is_bad_request(body, ctype):
    with pytest.raises(BadRequest):
        parse_form_bytes(body, ctype)


def test_other_content_types_untouched():
    stream, form, files = parse_form_bytes(b'{"a": 1}', "application/json")
    assert not form and not files
    assert stream.read() == b'{"a": 1}'


def test_request_integration_malformed_and_limits():
    req = Request(environ_for(b"--x\r\nbroken", "multipart/form-data; boundary=x"))
    with pytest.raises(BadRequest):
        _ = req.form

    class Small(Request):
        max_form_parts = 1

    req2 = Small(environ_for(b"a=1&b=2", "application/x-www-form-urlencoded"))
    with pytest.raises(RequestEntityTooLarge):
        _ = req2.form


def test_request_files_closed_on_close():
    body = multipart(("f", "a.txt", b"abc", "text/plain"))
    req = Request(environ_for(body, MULTIPART))
    upload = req.files["f"]
    assert req.values == {}
    req.close()
    assert upload.stream.closed


def test_empty_multipart_body_is_an_empty_form():
    _, form, files = parse_form_bytes(b"", MULTIPART)
    assert not form and not files


def test_werkzeug_encoded_empty_file_parts():
    """Werkzeug's test client writes an empty part without the CRLF that ends its
    data (the blank line's CRLF doubles as the delimiter's): still an empty file."""
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        method="POST",
        data={
            "a": "1\r\n",
            "empty": (io.BytesIO(b""), "empty.txt"),
            "blank": (io.BytesIO(b""), "blank.bin", "application/octet-stream"),
            "full": (io.BytesIO(b"xyz\r\n"), "full.txt"),
        },
    )
    try:
        env = builder.get_environ()
    finally:
        builder.close()
    body = env["wsgi.input"].read()
    dash = b"--" + env["CONTENT_TYPE"].split("boundary=")[1].strip('"').encode()
    assert b"Content-Type: application/octet-stream\r\n\r\n" + dash in body
    for chunk_size in (1, 5, 64 * 1024):
        env["wsgi.input"] = io.BytesIO(body)
        import corral.web.http.formparser as fp

        old, fp.CHUNK_SIZE = fp.CHUNK_SIZE, chunk_size
        try:
            _stream, form, files = parse_form_data(env)
        finally:
            fp.CHUNK_SIZE = old
        assert form.to_dict() == {"a": "1\r\n"}
        assert {k: (f.filename, f.read()) for k, f in files.items()} == {
            "empty": ("empty.txt", b""),
            "blank": ("blank.bin", b""),
            "full": ("full.txt", b"xyz\r\n"),
        }
        for cut in (3, 30, len(body) // 2):
            with pytest.raises(BadRequest):
                parse_form_bytes(body[:-cut], env["CONTENT_TYPE"])


def test_werkzeug_empty_file_through_the_app():
    from werkzeug.test import EnvironBuilder

    from corral.web import App, request

    app = App(__name__)

    @app.post("/up")
    def up() -> dict:
        f = request.files["f"]
        return {"name": f.filename, "size": len(f.read())}

    builder = EnvironBuilder(
        path="/up", method="POST", data={"f": (io.BytesIO(b""), "e.bin", "application/octet-stream")}
    )
    try:
        env = builder.get_environ()
    finally:
        builder.close()
    resp = app.test_client().post(
        "/up", data=env["wsgi.input"].read(), content_type=env["CONTENT_TYPE"]
    )
    assert resp.status_code == 200 and resp.json == {"name": "e.bin", "size": 0}
