"""OutboundClient over real HTTP (a tiny local server): retries, guard, audit rows, error translation."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.audit import MemoryAudit
from shared.errors import (
    AmbiguousError,
    NotSentError,
    RateLimited,
    Throttled,
    TransientError,
)
from shared.http import HttpResponse, OutboundClient, OutboundPolicy
from shared.upstream import CallPolicy


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    drop: str | None = None  # "fin" (close without answer) or "rst" (reset)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.hits.append((self.command, self.path, dict(self.headers), body))
        answers = self.server.routes.get(self.path.split("?")[0]) or [Answer(404)]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer.drop:
            self.close_connection = True
            if answer.drop == "rst":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(answer.body), 1000):
                piece = answer.body[start : start + 1000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, list[Answer]] = {}
        self.hits: list[tuple[str, str, dict[str, str], bytes]] = []


class LocalServer:
    """A real HTTP server on 127.0.0.1 answering scripted :class:`Answer` s per path (the last repeats)."""

    def __init__(self) -> None:
        self.server = _Server()
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def script(self, path: str, *answers: Answer) -> None:
        self.server.routes[path] = list(answers)

    @property
    def hits(self) -> list[tuple[str, str, dict[str, str], bytes]]:
        return self.server.hits

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


class RecordingGuard:
    def __init__(self, throttle_after: int | None = None) -> None:
        self.before: list[tuple[str, str]] = []
        self.after: list[tuple[str, int | None, float | None]] = []
        self.retries: list[tuple[str, str]] = []
        self.throttle_after = throttle_after

    def before_request(self, provider: str, operation: str) -> None:
        if self.throttle_after is not None and len(self.before) >= self.throttle_after:
            raise Throttled(provider, 2.5)
        self.before.append((provider, operation))

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        self.after.append((provider, status, retry_after))

    def before_retry(self, provider: str, operation: str) -> None:
        self.retries.append((provider, operation))


class GuardedClient:
    """An OutboundClient whose requests carry ``CallPolicy(guard)`` unless given a policy of their own
    (what a gateway or a lookup client passes with every request)."""

    def __init__(self, client: OutboundClient, guard: RecordingGuard | None) -> None:
        self.client = client
        self.policy = CallPolicy(guard)

    def request(self, *args: Any, **kwargs: Any) -> HttpResponse:
        kwargs.setdefault("policy", self.policy)
        return self.client.request(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("policy", self.policy)
        return self.client.call(*args, **kwargs)


def make_client(
    audit: MemoryAudit | None = None,
    guard: RecordingGuard | None = None,
    *,
    hosts: frozenset[str] = frozenset({"127.0.0.1"}),
    tries: int = 3,
    sleeps: list[float] | None = None,
    read_timeout: float = 5.0,
    max_bytes: int = 100_000,
    allow_private: bool = True,
    **policy: Any,
) -> GuardedClient:
    recorded = sleeps if sleeps is not None else []
    client = OutboundClient(
        "test",
        OutboundPolicy(hosts, allow_private, 2.0, read_timeout, max_bytes, **policy),
        audit if audit is not None else MemoryAudit(),
        tries=tries,
        sleep=recorded.append,
        rng=lambda: 0.5,
    )
    return GuardedClient(client, guard)


def test_a_plain_request_writes_one_audit_row_and_calls_the_guard(local: LocalServer) -> None:
    local.script("/v1/thing", Answer(200, b'{"ok": true}'))
    audit, guard = MemoryAudit(), RecordingGuard()
    client = make_client(audit, guard)
    response = client.request(
        "GET",
        local.url("/v1/thing?secret=1"),
        operation="info",
        idempotent=True,
        policy=CallPolicy(guard, job_key="k", attempt=2),
    )
    assert isinstance(response, HttpResponse) and response.json() == {"ok": True}
    assert guard.before == [("test", "info")] and guard.after == [("test", 200, None)]
    [row] = audit.calls
    assert (row.provider, row.operation, row.method, row.path, row.status) == (
        "test",
        "info",
        "GET",
        "/v1/thing",
        200,
    )
    assert (row.error_code, row.job_key, row.attempt) == (None, "k", 2)
    assert row.latency_ms >= 0
    assert local.hits[0][2]["User-Agent"].startswith("regq/")


def test_idempotent_5xx_is_retried_with_backoff_and_every_try_is_guarded_and_audited(
    local: LocalServer,
) -> None:
    local.script("/x", Answer(503), Answer(502), Answer(200))
    audit, guard, sleeps = MemoryAudit(), RecordingGuard(), []
    client = make_client(audit, guard, sleeps=sleeps)

    def interpret(r: HttpResponse) -> int:
        if r.status >= 500:
            raise TransientError("boom", provider="test", status=r.status, retry_after=r.retry_after)
        return r.status

    assert client.call("GET", local.url("/x"), operation="check", interpret=interpret, idempotent=True) == 200
    assert sleeps == [pytest.approx(0.5 + 0.5 * 0.225), pytest.approx(1.0 + 0.5 * 0.35)]  # rng 0.5
    assert len(guard.before) == 3 and [a[1] for a in guard.after] == [503, 502, 200]
    assert [(c.status, c.error_code) for c in audit.calls] == [
        (503, "transient"),
        (502, "transient"),
        (200, None),
    ]


def always_transient(response: HttpResponse) -> None:
    raise TransientError("always", provider="test", status=response.status)


def test_jitter_only_lengthens_the_base_delay_by_up_to_a_quarter(local: LocalServer) -> None:
    local.script("/x", Answer(500))
    for value, expected in ((0.0, 0.5), (1.0, 0.5 + 0.225)):
        sleeps: list[float] = []
        client = OutboundClient(
            "test",
            OutboundPolicy(frozenset({"127.0.0.1"}), True),
            MemoryAudit(),
            tries=2,
            sleep=sleeps.append,
            rng=lambda v=value: v,
        )
        with pytest.raises(TransientError):
            client.call(
                "GET",
                local.url("/x"),
                operation="o",
                idempotent=True,
                interpret=always_transient,
            )
        assert sleeps == [pytest.approx(expected)]


def test_non_idempotent_5xx_is_not_retried(local: LocalServer) -> None:
    local.script("/create", Answer(500))
    audit, sleeps = MemoryAudit(), []

    def interpret(r: HttpResponse) -> None:
        raise TransientError("boom", provider="test", status=r.status)

    with pytest.raises(TransientError):
        make_client(audit, sleeps=sleeps).call(
            "POST", local.url("/create"), operation="create", interpret=interpret, idempotent=False, json={}
        )
    assert len(local.hits) == 1 and sleeps == [] and len(audit.calls) == 1


def test_5xx_with_retry_after_goes_up_to_the_task_layer(local: LocalServer) -> None:
    local.script("/x", Answer(503, headers={"Retry-After": "7"}))
    guard = RecordingGuard()

    def interpret(r: HttpResponse) -> None:
        raise TransientError("busy", provider="test", status=r.status, retry_after=r.retry_after)

    with pytest.raises(TransientError) as caught:
        make_client(guard=guard).call(
            "GET", local.url("/x"), operation="o", interpret=interpret, idempotent=True
        )
    assert caught.value.retry_after == 7.0 and len(local.hits) == 1
    assert guard.after == [("test", 503, 7.0)]


def test_429_is_rate_limited_with_retry_after_and_never_retried(local: LocalServer) -> None:
    local.script("/x", Answer(429, headers={"Retry-After": "1.5"}))
    audit, guard = MemoryAudit(), RecordingGuard()
    with pytest.raises(RateLimited) as caught:
        make_client(audit, guard).request("GET", local.url("/x"), operation="check", idempotent=True)
    assert caught.value.retry_after == 2.0 and caught.value.status == 429
    assert len(local.hits) == 1 and guard.after == [("test", 429, 2.0)]
    assert audit.calls[0].error_code == "rate_limited"


def test_connection_refused_is_not_sent_and_retried_even_for_a_post() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    audit, guard, sleeps = MemoryAudit(), RecordingGuard(), []
    with pytest.raises(NotSentError):
        make_client(audit, guard, sleeps=sleeps).request(
            "POST", f"http://127.0.0.1:{port}/create", operation="create", idempotent=False, json={}
        )
    assert len(guard.before) == 3 and len(sleeps) == 2
    assert [(c.status, c.error_code) for c in audit.calls] == [(None, "not_sent")] * 3
    assert [a[1] for a in guard.after] == [None, None, None]


def test_a_clean_close_without_answer_is_ambiguous_and_a_post_is_not_resent(local: LocalServer) -> None:
    local.script("/create", Answer(drop="fin"))
    with pytest.raises(AmbiguousError):
        make_client().request("POST", local.url("/create"), operation="create", idempotent=False, json={})
    assert len(local.hits) == 1


def test_a_reset_before_any_answer_is_not_sent_and_retried(local: LocalServer) -> None:
    local.script("/create", Answer(drop="rst"), Answer(201, b"{}"))
    audit = MemoryAudit()
    response = make_client(audit).request(
        "POST", local.url("/create"), operation="create", idempotent=False, json={}
    )
    assert response.status == 201 and len(local.hits) == 2
    assert [c.error_code for c in audit.calls] == ["not_sent", None]


def test_read_timeout_is_ambiguous_not_retried_for_a_post_retried_for_a_get(local: LocalServer) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    try:
        audit = MemoryAudit()
        with pytest.raises(AmbiguousError):
            make_client(audit, read_timeout=0.2).request("POST", url, operation="create", idempotent=False)
        assert [c.error_code for c in audit.calls] == ["ambiguous"]
        audit = MemoryAudit()
        with pytest.raises(AmbiguousError):
            make_client(audit, read_timeout=0.2, tries=2).request(
                "GET", url, operation="info", idempotent=True
            )
        assert [c.error_code for c in audit.calls] == ["ambiguous", "ambiguous"]
    finally:
        listener.close()


def test_a_throttled_guard_stops_the_request_before_it_is_sent(local: LocalServer) -> None:
    local.script("/x", Answer(200))
    audit, guard = MemoryAudit(), RecordingGuard(throttle_after=0)
    with pytest.raises(Throttled) as caught:
        make_client(audit, guard).request("GET", local.url("/x"), operation="check", idempotent=True)
    assert caught.value.retry_after == 2.5
    assert local.hits == [] and audit.calls == []


def test_the_client_refuses_to_hand_over_tls_or_redirect_control(local: LocalServer) -> None:
    for bad in ({"verify": False}, {"allow_redirects": True}, {"proxies": {"https": "http://p"}}):
        with pytest.raises(ValueError):
            make_client().request("GET", local.url("/x"), operation="o", idempotent=True, **bad)
    assert local.hits == []


def test_the_effect_point_runs_after_the_token_of_the_request_it_is_given_to(local: LocalServer) -> None:
    events: list[str] = []

    class OrderedGuard(RecordingGuard):
        def before_request(self, provider: str, operation: str) -> None:
            super().before_request(provider, operation)
            events.append(f"token:{operation}")

    local.script("/v1/read", Answer(200, b"{}"))
    local.script("/v1/write", Answer(200, b"{}"))
    client = make_client(guard=OrderedGuard())
    client.policy.on_effect(lambda operation: events.append(f"send:{operation}"))
    client.request("GET", local.url("/v1/read"), operation="read", idempotent=True)
    client.request("POST", local.url("/v1/write"), operation="write", idempotent=False, effect=True)
    assert events == ["token:read", "token:write", "send:write"]
    throttled = make_client(guard=RecordingGuard(throttle_after=0))
    throttled.policy.on_effect(lambda _operation: events.append("never"))
    with pytest.raises(Throttled):
        throttled.request("POST", local.url("/v1/write"), operation="write", idempotent=False, effect=True)
    assert "never" not in events
