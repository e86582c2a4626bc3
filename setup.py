"""The compiled parts of corral, both optional: the request-head reader and the
response-head field lines (src/corral/server/http/_headscan.c), and the gthread
loop's socket read that keeps the GIL (src/corral/server/workers/_heldread.c).
Where they cannot be built (no C compiler, no Python headers) the install goes
on without them and corral runs the same functions in Python
(corral.server.http.headscan; os.read)."""

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
