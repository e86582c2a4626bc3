"""corral: a pre-fork WSGI HTTP/1.1 server (corral.server) and a web framework (corral.web)."""

__version__ = "0.1.0"
