"""The WSGI server half of corral: arbiter, workers and the shared HTTP/1.1 request cycle."""
