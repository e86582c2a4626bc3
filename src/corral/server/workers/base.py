"""Worker base class: what every worker class shares except I/O.

Contract with the arbiter and with the concrete worker classes:

    worker = WorkerClass(age, ppid, listeners, app_loader, settings, log)
    # in the child after fork:
    worker.init_process()   # never returns: installs signals, starts the heartbeat,
                            # loads the app (exit 4 on failure, 3 on other boot errors),
                            # builds self.cycle = RequestCycle(self.wsgi, settings, log, self)
                            # and calls self.run(); exits 0 after a graceful stop.

Attributes: ``alive`` (False once TERM/max-requests asks for a graceful stop),
``listeners`` (list of :class:`corral.server.sockets.Listener`), ``wsgi``,
``cycle``, ``settings``, ``log``, ``pid``, ``ppid``, ``age``, ``nr`` (requests
served), ``tmp`` (:class:`Heartbeat`: ``notify()`` in the child,
``last_update()`` in the arbiter).
Methods for subclasses: ``run()`` (abstract), ``notify()`` (heartbeat + parent
check: a worker whose parent changed stops), ``request_done()`` (counts requests,
triggers --max-requests recycling).
Signals in the worker: TERM -> graceful (alive = False), INT/QUIT -> fast exit,
ABRT -> request timeout (log the stack where it hung, raise RequestTimeout in the
main thread), USR1 -> reopen log files, CHLD -> default.
"""
