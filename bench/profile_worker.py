"""Worker classes that run under cProfile and dump their statistics on exit.

    corral bench.apps:hello -k bench.profile_worker:ProfiledAsyncioWorker
    # ... load it with wrk, stop it with TERM, then:
    python -m pstats bench/results/profile-<pid>.prof

Used by ``bench/profile.py`` to report where the time goes per request.
"""

from __future__ import annotations

import cProfile
import os
from pathlib import Path

from corral.server.workers.asyncio import AsyncioWorker

OUT = Path(__file__).resolve().parent / "results"


class _Profiled:
    def run(self) -> None:
        prof = cProfile.Profile()
        prof.enable()
        try:
            super().run()  # type: ignore[misc]
        finally:
            prof.disable()
            OUT.mkdir(exist_ok=True)
            prof.dump_stats(str(OUT / f"profile-{os.getpid()}.prof"))


class ProfiledAsyncioWorker(_Profiled, AsyncioWorker):
    pass
