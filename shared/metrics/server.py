"""The exporter's HTTP endpoint: ``GET /metrics`` (prometheus_client's WSGI app in a thread)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry


@dataclass
class MetricsServer:
    """A running endpoint; ``url`` is where to scrape, ``stop()`` ends it."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        raw = self.httpd.server_address[0]
        host = raw.decode() if isinstance(raw, bytes) else str(raw)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"

    def wait(self) -> None:
        """Block until the server stops."""
        self.thread.join()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def serve(registry: CollectorRegistry, bind: str, port: int) -> MetricsServer:
    """Serve ``registry`` on ``bind:port`` (port 0: any free port) in a daemon thread."""
    httpd, thread = start_http_server(port, addr=bind, registry=registry)
    return MetricsServer(httpd, thread)
