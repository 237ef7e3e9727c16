"""Circuit breaker under a dead upstream: requests that reach the sandbox while open and half-open.

::

    .venv/bin/python -m bench.breaker [--probes 1 2] [--seconds 24] [--workers 2] [--concurrency 2]
                                      [--jobs 100] [--reset 3] [--failures 5] [--max-attempts 5]
                                      [--bypass-demo] [--json]

One scenario per ``--probes`` value, each in a fresh embedded stack: the sandbox answers every Gandi
request with a 500 (fault rule ``{"operation": "*", "kind": "status", "status": 500}``), a backlog of
register jobs is published, then ``--workers`` celery worker nodes of ``--concurrency`` processes consume
``registrar.gandi`` for ``--seconds``: the breaker opens after ``REGQ_BREAKER_FAILURES`` failures, stays
open ``REGQ_BREAKER_RESET_SECONDS``, lets ``REGQ_BREAKER_PROBES`` probes through in half-open, re-opens
when a probe fails, and so on.

Windows come from the breaker journal (``Store.breaker_events.history()``): an ``open`` record starts an
open window at ``opened_until - reset`` (the exact moment of the transition, by the Redis clock; the
record's ``at`` is the journal write, a few ms later) and the open window ends at ``opened_until``: that
is exactly when the breaker refuses every caller. The next ``half_open`` record (made by the first ask
after ``opened_until``; its ``opened_until`` is the same) starts the half-open window at ``opened_until``,
the next transition ends it. The sandbox's ``request_times`` (arrivals) are counted per window. Redis
TIME, the sandbox's and the workers' ``time.time()`` are the one clock of this machine.

What one "call" is: the breaker is asked once per ATTEMPT (one delivery of a job, ``JobRunner``); an
attempt makes one or more HTTP requests through ``OutboundClient``. A register's first attempt starts
with ``POST /domain/domains`` (not idempotent: a 500 is never re-sent, 1 request). Its later attempts
start with a reconciliation ``GET /domain/domains/{fqdn}`` (the create may have happened): idempotent,
so a 500 is retried inside the attempt, ``REGQ_HTTP_TRIES`` (3) requests ~0.5 s and ~1 s apart. So a
half-open probe is 1 request or 3, and the target "exactly the probe count" is about probe ATTEMPTS.

Attribution (so "while open" can be split honestly): the worker processes are started with a tracing
hook (a ``sitecustomize`` in a temp dir on their PYTHONPATH; it only appends events to files) that
records every ``Breaker.before_call`` answer, every outcome report, every ``JobRunner.run`` delivery and
every HTTP send. Each request that reached the sandbox is matched to its send, hence to the permit of
its attempt: granted while closed (in flight when the breaker opened), a probe, or no permit at all.

``--bypass-demo`` adds a scenario with ``REGQ_MAX_ATTEMPTS=1``: every failed register then gives up and
``JobRunner._give_up`` reconciles (GET) once more. That final reconciliation used to go out without
asking the breaker (requests while open without a permit); it now asks for a permit and reports the
outcome, so the scenario checks that nothing of it reaches the upstream while the breaker is open.

Modules: :mod:`~bench.breaker.hook` (the tracing ``sitecustomize``), :mod:`~bench.breaker.trace`
(reading the trace, matching arrivals to sends), :mod:`~bench.breaker.windows` (closed / open /
half-open windows and the figures per window), :mod:`~bench.breaker.scenario` (the figures of one
scenario), :mod:`~bench.breaker.runner` (running one scenario in a stack), :mod:`~bench.breaker.report`
(verdict and table) and :mod:`~bench.breaker.cli` (``python -m bench.breaker``).
"""
