"""corral at an earlier revision against the working tree: one server, one app,
interleaved rounds, so both meet the same machine.

A change that saves a few percent is invisible across two runs of
``servers.py``: on this virtual machine the same server's CPU time per request
moves by more than that from one hour to the next.  Here the two trees take
turns, the order reversed every other round, and the figure to read is the
median of the per-round ratios.

    python bench/ab.py --before REV [--rounds 8] [--traffic realistic|repeated]
                       [--server corral-asyncio] [--app hello] [--duration 3]

``REV`` is checked out into a temporary git worktree (removed afterwards); each
of its compiled parts is built there (``pip wheel``) when its C source differs
from the working tree's, else the working tree's build is copied.  Each run: the server
from one tree pinned to core 0 (``PYTHONPATH`` puts that tree first), wrk on
core 1 as in ``servers.py``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Server, ensure_peers, have_tools, median, wrk

# the compiled parts (optional C extensions), each as (its directory, its name)
COMPILED = [(Path("src/corral/server/http"), "_headscan"),
            (Path("src/corral/server/workers"), "_heldread")]


def checkout(rev: str, where: Path) -> Path:
    """A worktree of ``rev`` under ``where``, with its compiled parts: each one
    whose source is the working tree's is copied from the working tree's
    build; the others are built (``pip wheel``) from that revision's sources."""
    tree = where / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev],
                   check=True)
    wheel: Path | None = None
    for folder, name in COMPILED:
        ours, theirs = ROOT / folder, tree / folder
        source = theirs / f"{name}.c"
        if not source.exists():  # not a part of that revision
            continue
        built = sorted(ours.glob(f"{name}*.so"))
        if built and (ours / f"{name}.c").read_bytes() == source.read_bytes():
            for so in built:
                shutil.copy2(so, theirs / so.name)
            continue
        if wheel is None:  # built by pip, in an isolated build environment with the
            # setuptools pyproject.toml asks for, then taken out of the wheel
            wheels = where / "wheels"
            subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "-w", str(wheels), str(tree)], check=True)
            wheel = next(wheels.glob("corral-*.whl"))
        prefix = folder.relative_to("src").as_posix() + "/" + name
        with zipfile.ZipFile(wheel) as zf:
            for member in zf.namelist():
                if member.startswith(prefix) and member.endswith(".so"):
                    (theirs / Path(member).name).write_bytes(zf.read(member))
    return tree


def run_once(tree: Path, kind: str, app: str, duration: float, traffic: str) -> dict[str, float]:
    server = Server(kind, app, root=tree).start()
    try:
        assert server.proc is not None
        return wrk(server.port, duration, 50, "/", pid=server.proc.pid, traffic=traffic)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the git revision to compare against")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--traffic", default="realistic", choices=["realistic", "repeated"])
    ap.add_argument("--server", default="corral-asyncio")
    ap.add_argument("--app", default="hello")
    ap.add_argument("--duration", type=float, default=3.0)
    args = ap.parse_args(argv)
    have_tools()
    ensure_peers()
    with tempfile.TemporaryDirectory(prefix="corral-ab-") as tmp:
        trees = {"before": checkout(args.before, Path(tmp)), "after": ROOT}
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        try:
            for r in range(args.rounds):
                order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                for name in order:
                    out = run_once(trees[name], args.server, args.app, args.duration,
                                   args.traffic)
                    runs[name].append(out)
                    print(f"  round {r + 1} {name:6} {out['rps']:8.0f} req/s "
                          f"{out['cpu_us']:6.1f} us CPU/request ({out['user_us']:.1f} user)",
                          flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(trees["before"])], check=False)
    print(f"{args.server}, {args.app}, {args.traffic} traffic, {args.rounds} rounds; "
          f"before = {args.before}, after = the working tree")
    for name, outs in runs.items():
        print(f"{name:6} median {median([o['rps'] for o in outs]):8.0f} req/s "
              f"{median([o['cpu_us'] for o in outs]):6.1f} us CPU/request "
              f"({median([o['user_us'] for o in outs]):.1f} user)")
    pairs = list(zip(runs["after"], runs["before"], strict=True))
    ratios = [a["rps"] / b["rps"] for a, b in pairs if b["rps"]]
    cpu = [b["cpu_us"] / a["cpu_us"] for a, b in pairs if a["cpu_us"]]
    print("after / before req/s per round: " + " / ".join(f"{x:.2f}" for x in ratios)
          + f"; median {median(ratios):.3f}")
    print(f"before / after CPU per request, median of the rounds: {median(cpu):.3f}")


if __name__ == "__main__":
    main()
