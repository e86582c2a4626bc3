"""A module whose own import fails: it needs a module that is not installed."""

import cfg_no_such_dependency  # noqa: F401

app = None
