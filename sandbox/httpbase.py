"""HTTP server base shared by both stand-ins: request plumbing, fault application, admin endpoints.

Admin endpoints (same on both servers, JSON, no auth, never counted in the stats):

* ``GET /_sandbox/stats``, ``POST /_sandbox/reset`` (state, stats, faults; config back to its startup value)
* ``GET|POST /_sandbox/domains`` (list / seed ``{"domains": [...]}``)
* ``GET|POST|DELETE /_sandbox/faults`` (see :mod:`sandbox.faults`)
* ``GET|POST /_sandbox/config``, ``GET /_sandbox/health``
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.faults import STREAMED, FaultConfigError, FaultEngine, Plan, huge_pieces, retry_after_header
from sandbox.stats import Stats

log = logging.getLogger("sandbox")
ADMIN_PREFIX = "/_sandbox"
MAX_BODY = 1 << 20
#: nginx's built-in 403 page. Source: Gandi error bodies are not always JSON (go-gandi handles a text/html
#: error body, https://github.com/go-gandi/go-gandi/pull/72, test TestRequestErrorNotJson);
#: assumption, not documented: that such a body comes with a 403 and that the page in front is nginx's.
FORBIDDEN_HTML = (
    b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1>"
    b"</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
#: Assumption, not documented: a maintenance page served by whatever stands in front of an upstream.
PROXY_HTML = (
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1>"
    b"<p>The service is undergoing maintenance.</p></body></html>"
)


class BadRequestBody(ValueError):
    """The request body is not what the endpoint accepts (bad JSON, bad form)."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode("utf-8"), "application/json", dict(headers or {}))


def html_response(status: int, body: bytes) -> Response:
    return Response(status, body, "text/html; charset=utf-8")


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), "text/plain; charset=utf-8", dict(headers or {}))


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequestBody(f"invalid JSON body: {exc}") from exc

    def form(self) -> dict[str, str]:
        try:
            pairs = parse_qs(self.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequestBody(f"invalid form body: {exc}") from exc
        return {k: v[0] for k, v in pairs.items()}


class Provider:
    """One upstream protocol. Subclasses implement the abstract methods."""

    name = "base"
    default_config: dict[str, Any] = {}

    def __init__(self, stats: Stats, config: dict[str, Any] | None = None) -> None:
        self.stats = stats
        self.startup_config = {**self.default_config, **(config or {})}
        self.validate_config(self.startup_config)
        self.config = dict(self.startup_config)

    def authenticate(self, req: Request) -> Response | None:
        """None when the caller is authenticated, else the 401 to send."""
        raise NotImplementedError

    def operation(self, req: Request) -> str:
        raise NotImplementedError

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def fault_response(self, status: int) -> Response:
        """The body a ``status``/``rate_limit``/``timeout`` fault answers with."""
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    def seed(self, entries: Any) -> list[str]:
        raise NotImplementedError

    def list_domains(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def validate_config(self, config: dict[str, Any]) -> None:
        unknown = set(config) - set(self.default_config)
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(self.default_config)}")

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.config, **changes}
        self.validate_config(merged)
        self.config = merged
        return dict(self.config)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], provider: Provider, stats: Stats, log_requests: bool = False
    ):
        self.provider = provider
        self.stats = stats
        self.faults = FaultEngine()
        self.log_requests = log_requests
        self._interrupt = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__(address, SandboxHandler)

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # skip HTTPServer's getfqdn() lookup
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def base_url(self) -> str:
        return f"http://{self.server_name}:{self.server_port}"

    def wait(self, seconds: float) -> bool:
        """Sleep for a fault; True when cut short by a reset or the shutdown."""
        return self._interrupt.wait(max(0.0, seconds))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is normal here: no traceback on stderr."""
        log.debug("sandbox %s: connection error from %s", self.provider.name, client_address, exc_info=True)

    def reset(self) -> None:
        self.faults.clear()
        old, self._interrupt = self._interrupt, threading.Event()
        old.set()
        self.provider.reset_state()
        self.provider.config = dict(self.provider.startup_config)
        self.stats.reset()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name=f"sandbox-{self.provider.name}"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._interrupt.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SandboxServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    # -- logging: never the query string, headers or bodies (they carry secrets)
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.log_requests:
            path = urlsplit(self.path).path
            sys.stderr.write(f"[{self.server.provider.name}] {self.command} {path} {code}\n")

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise BadRequestBody("chunked request bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise BadRequestBody("bad Content-Length") from exc
        if length < 0 or length > MAX_BODY:
            raise BadRequestBody("request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, resp: Response, count: bool = True) -> None:
        if count:
            self.server.stats.status(resp.status)
        try:
            self.send_response(resp.status)
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(resp.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self, reset: bool) -> None:
        """Close without answering: a FIN after shutdown (``reset=False``) or an RST."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()
                sock.close()
            else:
                sock.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        arrived = time.time()
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except BadRequestBody as exc:
            self.close_connection = True
            self._send(text_response(400, str(exc)), count=False)
            return
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        req = Request(self.command, self.path, split.path, query, self.headers, body)
        if split.path == ADMIN_PREFIX or split.path.startswith(ADMIN_PREFIX + "/"):
            self._send(self._admin(req), count=False)
            return
        srv = self.server
        srv.stats.arrival(arrived)
        denied = srv.provider.authenticate(req)
        if denied is not None:
            srv.stats.unauthorized()
            self._send(denied)
            return
        operation = srv.provider.operation(req)
        srv.stats.operation(operation, arrived)
        plan = srv.faults.decide(operation)
        if plan.delay and srv.wait(plan.delay):
            self._drop(reset=False)  # reset or shutdown while sleeping: the request belongs to the past
            return
        self._apply(plan, req)

    def _handle(self, req: Request) -> Response:
        try:
            return self.server.provider.handle(req)
        except Exception:
            log.exception("sandbox %s handler failed", self.server.provider.name)
            return self.server.provider.fault_response(500)

    def _apply(self, plan: Plan, req: Request) -> None:
        kind = plan.kind
        if kind is None:
            self._send(self._handle(req))
            return
        srv = self.server
        srv.stats.fault(kind)
        if kind == "reset_before":
            self._drop(reset=True)
        elif kind in ("rate_limit", "status"):
            resp = srv.provider.fault_response(int(plan.param("status")))
            if plan.retry_after is not None:
                form = plan.param("retry_after_form", "seconds")
                resp.headers["Retry-After"] = retry_after_header(plan.retry_after, form)
            self._send(resp)
        elif kind == "timeout":
            if srv.wait(float(plan.param("seconds", 30))):
                self._drop(reset=False)
                return
            self.close_connection = True
            self._send(srv.provider.fault_response(504))
        elif kind == "forbidden_html":
            self._send(html_response(403, FORBIDDEN_HTML))
        elif kind == "commit_drop":
            self._handle(req)
            self._drop(reset=False)
        elif kind == "non_json":
            if plan.param("apply"):
                self._handle(req)
            self._send(html_response(int(plan.param("status", 200)), PROXY_HTML))
        elif kind in STREAMED:  # trickle, huge: written piece by piece
            real = self._handle(req) if kind == "trickle" and plan.param("apply") else None
            self._stream(plan, real or srv.provider.fault_response(500))
        elif kind == "truncated":
            resp = self._handle(req) if plan.param("apply", True) else srv.provider.fault_response(500)
            cut = resp.body[: max(1, len(resp.body) // 2)]
            self._send(Response(resp.status, cut, resp.content_type, resp.headers))

    def _stream(self, plan: Plan, answer: Response) -> None:
        """Write ``plan``'s streamed fault (``trickle``: ``answer`` slowly; ``huge``: the oversized object
        in ``answer``'s content type). A reset or the shutdown ends it, and so does a client that goes
        away (its deadline, its size cap)."""
        rule = plan.rule
        assert rule is not None and rule.kind in STREAMED
        if rule.kind == "trickle":
            status, body = answer.status, answer.body
            headers = {**answer.headers, "Content-Length": str(len(body))}
            step, interval = int(rule.params["bytes"]), float(rule.params["interval"])
            pieces: Iterator[bytes] = (body[i : i + step] for i in range(0, len(body), step))
        else:
            status, size = int(rule.params["status"]), int(rule.params["bytes"])
            declared = rule.params["declare_length"]
            headers = {"Content-Length": str(size)} if declared else {"Connection": "close"}
            interval, pieces = 0.0, huge_pieces(size)
            self.close_connection = True
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", answer.content_type)
            self.end_headers()
            self.wfile.flush()
            for piece in pieces:
                if interval and self.server.wait(interval):
                    self.close_connection = True
                    return
                self.wfile.write(piece)
                self.wfile.flush()
                rule.streamed += len(piece)
        except OSError:  # the client stopped reading: that is what a cap or a deadline does
            self.close_connection = True

    # -- admin
    def _admin(self, req: Request) -> Response:
        srv, provider = self.server, self.server.provider
        route = (req.method, req.path[len(ADMIN_PREFIX) :].rstrip("/"))
        try:
            payload = req.json() if req.method in ("POST", "PUT") else None
            if route == ("GET", "/stats"):
                return json_response(200, srv.stats.snapshot())
            if route == ("GET", "/health"):
                return json_response(200, {"ok": True, "provider": provider.name})
            if route == ("POST", "/reset"):
                srv.reset()
                return json_response(200, {"reset": True})
            if route == ("GET", "/domains"):
                return json_response(200, {"domains": provider.list_domains()})
            if route == ("POST", "/domains"):
                entries = payload.get("domains") if isinstance(payload, dict) else payload
                return json_response(200, {"seeded": provider.seed(entries)})
            if route == ("GET", "/faults"):
                return json_response(200, srv.faults.describe())
            if route == ("POST", "/faults"):
                srv.faults.configure(payload if payload is not None else {"rules": []})
                return json_response(200, srv.faults.describe())
            if route == ("DELETE", "/faults"):
                srv.faults.clear()
                return json_response(200, srv.faults.describe())
            if route == ("GET", "/config"):
                return json_response(200, dict(provider.config))
            if route == ("POST", "/config"):
                if not isinstance(payload, dict):
                    raise ValueError("expected a JSON object")
                return json_response(200, provider.configure(payload))
        except (BadRequestBody, FaultConfigError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": f"no admin endpoint {req.method} {req.path}"})
