"""The HTTP layer: request and response objects, headers and data structures,
HTTP exceptions, form parsing, file sending and WSGI helpers. It knows nothing
of apps; the app layer (``corral.web.app`` and its neighbours) builds on it."""
