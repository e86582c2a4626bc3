# Config file for the hooks test: every hook appends a line to $ARB_HOOK_LOG.
import os

_LOG = os.environ["ARB_HOOK_LOG"]


def _note(*words):
    with open(_LOG, "a") as f:
        f.write(" ".join(str(w) for w in words) + "\n")


def on_starting(server):
    _note("on_starting", os.getpid())


def when_ready(server):
    _note("when_ready", os.getpid())


def pre_fork(server, worker):
    _note("pre_fork", os.getpid())


def post_fork(server, worker):
    _note("post_fork", os.getpid())


def post_worker_init(worker):
    _note("post_worker_init", os.getpid())


def child_exit(server, worker):
    _note("child_exit", worker.pid)


def worker_exit(server, worker):
    _note("worker_exit", os.getpid())


def nworkers_changed(server, new_value, old_value):
    _note("nworkers_changed", new_value, old_value)


def on_reload(server):
    _note("on_reload", os.getpid())


def on_exit(server):
    _note("on_exit", os.getpid())
