"""Local stand-ins for the upstream registrar APIs (Gandi v5, ROTLD REST 2.0) with state, faults and stats.

* :class:`Sandbox` starts both servers in-process (context manager); :class:`SandboxClient` drives the
  ``/_sandbox/*`` admin endpoints of servers in any process; ``python -m sandbox`` serves both until SIGTERM.
* Protocols: :mod:`sandbox.gandi` (``/v5``, Bearer/Apikey) and :mod:`sandbox.rotld` (``POST /``, Digest;
  result codes listed there). Admin endpoints: :mod:`sandbox.httpbase`. Fault rules: :mod:`sandbox.faults`.
* Sample contacts and ``wait_for``: :mod:`sandbox.testing`.
"""

from sandbox.stack import Sandbox, SandboxAdminError, SandboxClient

__all__ = ["Sandbox", "SandboxAdminError", "SandboxClient"]
