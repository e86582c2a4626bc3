"""The compiled parts of corral, both optional: the steps of the request cycle
every request takes (src/corral/server/http/_headscan.c: the request-head
reader, the environ, the exchange, start_response, the framing decision and
the response head), and the gthread loop's socket read that keeps the GIL
(src/corral/server/workers/_heldread.c).  Where they cannot be built (no C
compiler, no Python headers) the install goes on without them and corral runs
the same functions in Python (corral.server.http.headscan lists them; os.read)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "corral.server.http._headscan",
            ["src/corral/server/http/_headscan.c"],
            optional=True,
        ),
        Extension(
            "corral.server.workers._heldread",
            ["src/corral/server/workers/_heldread.c"],
            optional=True,
        ),
    ]
)
