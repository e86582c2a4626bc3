"""THE request cycle: one WSGI exchange, shared by every worker class.

Contract (workers only move bytes; everything HTTP lives here):

    cycle = RequestCycle(app, settings, log, worker=None)   # once per worker process
    ex = cycle.exchange(head, body, conn)                    # one request
    try:
        for out in ex:                # out is bytes or a FileChunk, already framed
            write(out)               # sock.sendall / transport.write / loop.sendfile ...
    finally:
        ex.close()                    # always: closes the app iterable (also on disconnect)
    if not ex.keep_alive: close the connection

* ``head`` is a :class:`corral.server.http.parser.RequestHead`.
* ``body`` is a readable binary file-like (``read(n)``, ``readline(n)``, iteration)
  already de-chunked: a :class:`corral.server.http.body.BufferedBody` for workers
  that buffer the whole request, or a :class:`corral.server.http.body.StreamBody`
  pulling from the socket for the sync worker.  It becomes ``wsgi.input``.
* ``conn`` is a :class:`ConnInfo` (peer/server address, scheme, whether the
  worker allows keep-alive, how to send ``100 Continue``).
* ``ex`` is a generator-like :class:`Exchange`; iterating it calls the app, which
  may raise :class:`corral.server.http.errors.RequestTimeout` (raised into the
  worker by the SIGABRT handler) -> 503 if nothing was sent yet.
* ``cycle.error_response(status, reason)`` -> bytes of a complete
  ``Connection: close`` response for parse errors (never a traceback).
"""
