"""A real HTTP receiver for completion webhooks: stdlib ``http.server`` on a free loopback port, in a thread.

Every POST is kept (path, headers, raw body, the status answered, when it arrived: ``time.monotonic()``).
``fail_next(n, status)`` makes the next ``n`` requests answer ``status`` (a receiver that is down), then it
answers 200 again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.stacks import wait_for


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    #: time.monotonic() when the request was read: gaps between attempts are measured on it
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures[:] = [status] * count

    def _answer(self) -> int:
        with self._lock:
            return self._failures.pop(0) if self._failures else 200

    def _keep(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def for_key(self, key: str) -> list[Received]:
        with self._lock:
            items = list(self.received)
        return [r for r in items if r.answered == 200 and r.json().get("key") == key]

    def wait_for_key(self, key: str, timeout: float) -> Received:
        found = wait_for(lambda: self.for_key(key), timeout, f"a webhook for {key}", interval=0.1)
        assert isinstance(found, list)
        return found[0]

    def attempts_for(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.json().get("key") == key]


@contextmanager
def running_receiver(path: str = "/hooks/regq") -> Iterator[Receiver]:
    server: ThreadingHTTPServer
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver._answer()
            receiver._keep(Received(self.path, dict(self.headers.items()), body, status))
            payload = b'{"ok": true}' if status == 200 else b'{"error": "down"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .received
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
