from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import WORKER_CLASSES, ServerProcess


@pytest.fixture(params=[w[0] for w in WORKER_CLASSES], ids=[w[0] for w in WORKER_CLASSES])
def worker_args(request: pytest.FixtureRequest) -> list[str]:
    """CLI arguments selecting one worker class; HTTP behaviour tests use this."""
    return dict(WORKER_CLASSES)[request.param]


@pytest.fixture
def serve(worker_args: list[str]) -> Iterator[object]:
    """serve(app_spec, *extra_args) -> started ServerProcess using the current worker class."""
    servers: list[ServerProcess] = []

    def start(spec: str, *extra: str, **kw: object) -> ServerProcess:
        srv = ServerProcess([spec, "-b", "127.0.0.1:0", *worker_args, *extra], **kw)  # type: ignore[arg-type]
        servers.append(srv)
        return srv.start()

    yield start
    for s in servers:
        s.stop()
