"""The tracing hook of the breaker benchmark: a ``sitecustomize.py`` for the worker processes only.

It is put on the workers' PYTHONPATH and, when ``REGQ_BENCH_TRACE_DIR`` is set, wraps
``Breaker.before_call`` / ``record_failure`` / ``record_success``, ``JobRunner.run`` and
``OutboundClient._send`` to append one JSON line per event to ``<dir>/<pid>.jsonl``. It changes no
behaviour; :mod:`bench.breaker.trace` reads the files back.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

TRACE_ENV = "REGQ_BENCH_TRACE_DIR"

# Installed as sitecustomize.py for the worker processes only (via PYTHONPATH); it changes no behaviour.
TRACE_HOOK = """
import os
_DIR = os.environ.get("REGQ_BENCH_TRACE_DIR")
if _DIR:
    try:
        import json as _json
        import time as _time

        from shared.breaker.base import Breaker as _Breaker
        from shared.execution.runner import JobRunner as _Runner
        from shared.http.client import OutboundClient as _Client

        def _emit(**event):
            event["pid"] = os.getpid()
            with open(os.path.join(_DIR, "%d.jsonl" % os.getpid()), "a") as fh:
                fh.write(_json.dumps(event) + "\\n")

        _before, _failure, _success = _Breaker.before_call, _Breaker.record_failure, _Breaker.record_success
        _run, _send = _Runner.run, _Client._send

        def before_call(self, provider):
            t0 = _time.time()
            permit = _before(self, provider)
            _emit(ev="permit", t=t0, t1=_time.time(), provider=provider, allowed=permit.allowed,
                  probe=permit.probe, state=permit.state)
            return permit

        def record_failure(self, provider, probe=False):
            _emit(ev="report", t=_time.time(), provider=provider, ok=False, probe=probe)
            return _failure(self, provider, probe)

        def record_success(self, provider, probe=False):
            _emit(ev="report", t=_time.time(), provider=provider, ok=True, probe=probe)
            return _success(self, provider, probe)

        def run(self, key, owner):
            _emit(ev="run", t=_time.time(), key=key)
            try:
                return _run(self, key, owner)
            finally:
                _emit(ev="run_end", t=_time.time(), key=key)

        def send(self, method, target, kwargs):
            _emit(ev="send", t=_time.time(), provider=self.provider, method=method, path=target.path)
            return _send(self, method, target, kwargs)

        _Breaker.before_call, _Breaker.record_failure, _Breaker.record_success = (
            before_call, record_failure, record_success)
        _Runner.run, _Client._send = run, send
        _emit(ev="hook", t=_time.time())
    except Exception as exc:
        with open(os.path.join(_DIR, "hook-error-%d.txt" % os.getpid()), "a") as fh:
            fh.write(repr(exc) + "\\n")
"""


@dataclass(frozen=True)
class TraceHook:
    """A temp dir holding ``sitecustomize.py`` and the ``trace`` dir the workers write to."""

    hook_dir: Path
    trace_dir: Path

    def env(self) -> dict[str, str]:
        """PYTHONPATH (the hook first, then the caller's) and the trace dir, for the workers."""
        pythonpath = os.pathsep.join(p for p in (str(self.hook_dir), os.environ.get("PYTHONPATH", "")) if p)
        return {"PYTHONPATH": pythonpath, TRACE_ENV: str(self.trace_dir)}


def install_hook() -> TraceHook:
    """Write the hook into a fresh temp dir (the caller removes it, or keeps it with ``--keep``)."""
    hook_dir = Path(tempfile.mkdtemp(prefix="regq-bench-hook-"))
    trace_dir = hook_dir / "trace"
    trace_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(TRACE_HOOK)
    return TraceHook(hook_dir, trace_dir)
