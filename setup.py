"""The one compiled part of corral, optional: the request-head reader and the
response-head field lines (src/corral/server/http/_headscan.c).  Where it cannot be built (no C compiler,
no Python headers) the install goes on without it and corral runs the same
functions in Python (corral.server.http.headscan)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "corral.server.http._headscan",
            ["src/corral/server/http/_headscan.c"],
            optional=True,
        )
    ]
)
