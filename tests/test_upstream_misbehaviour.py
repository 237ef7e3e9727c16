"""Hostile upstreams through real worker processes (issue 14): one stack for the module, the sandbox's faults
set per scenario. Every scenario submits a few jobs and checks, besides its own typed error or status:

* jobs submitted = jobs final (each one reaches a final status within its deadline);
* duplicate effects at the sandbox = 0 (at most one create per domain, whatever the answer looked like).

Gandi (register jobs): 429 storms with both ``Retry-After`` forms of RFC 9110 10.2.3 (a one-shot burst
with delta-seconds, the upstream's own token bucket answering HTTP-dates), a 5xx burst, read timeouts,
an answer trickling slower than the read deadline, non-JSON and cut-off JSON answers after the effect,
and a 50 MB answer. RDAP (lookup jobs): a 50 MB answer from the RIR (capped: ResponseTooLarge, the job
retried), a ``related`` answer trickling past the deadline (retried inside the call).

WHOIS faults cannot be set in the stack's sandbox process (its WHOIS stand-in has no admin endpoint), so
truncated WHOIS answers are checked at the end with the client against an in-process WHOIS stand-in; so is
the read deadline over TLS (the sandbox speaks plain http), with the headers or the body trickling.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.whois import WhoisSandbox
from shared.audit import ApiCall, MemoryAudit
from shared.errors import DeadlineExceeded, ProtocolError
from shared.http import OutboundClient, OutboundPolicy
from shared.jobs import JobOutcome, JobStatus, parse_job
from shared.registrydata.whois import WhoisClient
from shared.settings import load_settings
from shared.store import Store
from tasks.publish import submit
from testkit.factories import register
from testkit.samples import sample
from testkit.stacks import running_stack, wait_final
from testkit.tls import server_context, throwaway_certificate
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (
    WorkerGroup("gandi", ("registrar.gandi",), 2),
    WorkerGroup("lookup", ("lookup",), 1),
)
ENV = {
    "REGQ_READ_TIMEOUT_SECONDS": "1",  # the timeout scenario's fault answers after 3 s
    "REGQ_READ_DEADLINE_SECONDS": "1.5",  # the trickling answers take ~10 s in all
    "REGQ_BREAKER_RESET_SECONDS": "2",  # should a burst open the breaker, the jobs wait 2 s, not 60
    "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    var = Path(tmp_path_factory.mktemp("misbehaviour"))
    with running_stack(redis_url, postgres_url, var, GROUPS, extra_env=ENV) as s:
        yield s


@pytest.fixture
def sandbox(stack: Stack) -> Iterator[Any]:
    assert stack.sandbox is not None
    yield stack.sandbox
    stack.sandbox.clear_faults()


def run(stack: Stack, store: Store, jobs: list[dict[str, Any]], timeout: float = 45) -> list[JobOutcome]:
    """Submit ``jobs``, wait for every one to be final; check submitted = final and no duplicate create."""
    producer = stack.producer()
    try:
        keys = [submit(parse_job(job), store=store, app=producer).key for job in jobs]
    finally:
        producer.close()
    outcomes = [wait_final(store, key, timeout=timeout) for key in keys]
    assert len(outcomes) == len(jobs) == len(set(keys))  # jobs submitted = jobs final
    assert stack.sandbox is not None
    effects = stack.sandbox.stats("gandi")["effects"]
    for job in jobs:
        assert effects.get(job["domain"], {}).get("create", 0) <= 1, (job["domain"], effects[job["domain"]])
    return outcomes


def fired(sandbox: Any, provider: str) -> list[dict[str, Any]]:
    return list(sandbox.get_faults(provider)["rules"])


def calls(store: Store, outcome: JobOutcome, operation: str) -> list[ApiCall]:
    return [c for c in store.audit.calls(job_key=outcome.key) if c.operation == operation]


def registers(name: str, n: int = 2) -> list[dict[str, Any]]:
    return [register(f"h4-{name.replace('_', '-')}-{i}.com") for i in range(n)]


def assert_created_once(stack: Stack, outcomes: list[JobOutcome]) -> None:
    assert stack.sandbox is not None
    effects = stack.sandbox.stats("gandi")["effects"]
    for outcome in outcomes:
        assert outcome.status is JobStatus.SUCCEEDED, outcome
        assert effects[outcome.domain]["create"] == 1


# --- Gandi: rate limits -------------------------------------------------------------------------------
def test_a_429_burst_with_delta_seconds_is_waited_out(stack: Stack, stack_store: Store, sandbox: Any) -> None:
    sandbox.set_faults(
        "gandi", [{"operation": "create", "kind": "status", "status": 429, "retry_after": 1, "count": 2}]
    )
    outcomes = run(stack, stack_store, registers("429s"))
    assert_created_once(stack, outcomes)
    assert fired(sandbox, "gandi")[0]["fired"] == 2
    limited = [c for o in outcomes for c in calls(stack_store, o, "create") if c.status == 429]
    assert len(limited) == 2 and {c.error_code for c in limited} == {"rate_limited"}
    assert all(o.attempts <= 1 for o in outcomes)  # a rate limit is a wait, never an attempt


def test_a_429_storm_from_the_upstream_bucket_with_http_dates(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    rule = {"operation": "*", "kind": "rate_limit", "rate": 4, "burst": 2, "retry_after_form": "date"}
    sandbox.set_faults("gandi", [rule])
    outcomes = run(stack, stack_store, registers("429d"))
    assert_created_once(stack, outcomes)
    assert fired(sandbox, "gandi")[0]["fired"] >= 1  # the storm did hit
    assert all(o.attempts <= 1 for o in outcomes)


# --- Gandi: failures around the create ------------------------------------------------------------------
def test_a_5xx_burst_is_retried_and_the_create_happens_once(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    sandbox.set_faults("gandi", [{"operation": "*", "kind": "status", "status": 503, "count": 3}])
    outcomes = run(stack, stack_store, registers("5xx"))
    assert_created_once(stack, outcomes)
    assert fired(sandbox, "gandi")[0]["fired"] == 3


def test_a_read_timeout_on_the_create_is_reconciled(stack: Stack, stack_store: Store, sandbox: Any) -> None:
    sandbox.set_faults("gandi", [{"operation": "create", "kind": "timeout", "seconds": 3, "count": 2}])
    outcomes = run(stack, stack_store, registers("timeout"))
    assert_created_once(stack, outcomes)  # the timeout applied nothing: reconciled, sent again, once
    timed_out = [c for o in outcomes for c in calls(stack_store, o, "create") if c.error_code == "ambiguous"]
    assert len(timed_out) == 2 and all(c.status is None for c in timed_out)


def test_an_answer_trickling_past_the_read_deadline_after_the_effect(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    """The create happened; its answer comes 4 bytes every 0.5 s (each read well inside the 1 s read
    timeout, the whole far past the 1.5 s deadline): DeadlineExceeded, then the next attempt finds the
    domain in the account and never creates it again."""
    rule = {"operation": "create", "kind": "trickle", "bytes": 4, "interval": 0.5, "count": 2}
    sandbox.set_faults("gandi", [rule])
    outcomes = run(stack, stack_store, registers("trickle"))
    assert_created_once(stack, outcomes)
    cut = [c for o in outcomes for c in calls(stack_store, o, "create") if c.error_code == "ambiguous"]
    assert len(cut) == 2 and all(1.4 <= c.latency_ms / 1000 < 3.0 for c in cut), cut
    assert fired(sandbox, "gandi")[0]["bytes_streamed"] < 64  # the client stopped listening


@pytest.mark.parametrize("kind", ["non_json", "truncated"])
def test_a_malformed_answer_after_the_effect_is_reconciled(
    stack: Stack, stack_store: Store, sandbox: Any, kind: str
) -> None:
    sandbox.set_faults("gandi", [{"operation": "create", "kind": kind, "apply": True, "count": 2}])
    outcomes = run(stack, stack_store, registers(kind))
    assert_created_once(stack, outcomes)
    bad = [c for o in outcomes for c in calls(stack_store, o, "create") if c.error_code == "protocol"]
    assert len(bad) == 2


def test_a_50_mb_answer_is_capped_and_never_read_whole(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    # a 50 MB answer to the create (nothing applied): ResponseTooLarge, reconciled, created once
    sandbox.set_faults("gandi", [{"operation": "create", "kind": "huge", "count": 2}])
    outcomes = run(stack, stack_store, registers("huge"))
    assert_created_once(stack, outcomes)
    rule = fired(sandbox, "gandi")[0]
    assert rule["fired"] == 2 and rule["bytes"] == 50 * MB
    assert rule["bytes_streamed"] < 2 * 8 * MB  # 2 MiB cap + socket buffers, per answer: not 100 MB
    capped = [c for o in outcomes for c in calls(stack_store, o, "create") if c.error_code == "protocol"]
    assert len(capped) == 2


# --- RDAP (lookup jobs) -------------------------------------------------------------------------------------
def test_a_50_mb_rdap_answer_is_capped_and_the_lookup_retried(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    sandbox.set_faults("rdap", [{"operation": "ip", "kind": "huge", "count": 1}])
    before = len(stack_store.audit.calls(limit=100_000))
    # its own key: a lookup's derived key is domain + parameters + day, and the session's database may
    # hold another module's lookup of google.com from today
    job = {"kind": "lookup", "domain": "google.com", "idempotency_key": f"rdap-huge-{uuid.uuid4().hex}"}
    (outcome,) = run(stack, stack_store, [job])
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result is not None, outcome
    assert outcome.result["registered"] is True and outcome.result["partial"] is False
    assert outcome.attempts == 2  # ResponseTooLarge is a ProtocolError: retried as an attempt
    rule = fired(sandbox, "rdap")[0]
    assert rule["fired"] == 1 and rule["bytes_streamed"] < 8 * MB  # 1 MiB RDAP cap + socket buffers
    new = stack_store.audit.calls(limit=100_000)[before:]
    capped = [c for c in new if c.operation == "ip" and c.error_code == "protocol"]
    assert len(capped) == 1  # ResponseTooLarge (code "protocol"); the row has no status: see the report


def test_a_related_rdap_answer_trickling_past_the_deadline_is_asked_again(
    stack: Stack, stack_store: Store, sandbox: Any
) -> None:
    rule = {"operation": "registrar_domain", "kind": "trickle", "bytes": 8, "interval": 0.5, "count": 1}
    sandbox.set_faults("rdap", [rule])
    before = len(stack_store.audit.calls(limit=100_000))
    (outcome,) = run(stack, stack_store, [{"kind": "lookup", "domain": "themarquetry.com"}])
    assert outcome.status is JobStatus.SUCCEEDED and outcome.result is not None, outcome
    assert outcome.result["registration"]["registrant"]  # the second try of the hop was answered
    new = stack_store.audit.calls(limit=100_000)[before:]
    related = [c.error_code for c in new if c.operation == "related"]
    assert related == ["ambiguous", None]  # DeadlineExceeded (an AmbiguousError), then the answer


# --- WHOIS: truncated answers (client level: see the module doc) -------------------------------------------
@pytest.fixture(scope="module")
def whois() -> Iterator[WhoisSandbox]:
    server = WhoisSandbox().start()
    yield server
    server.stop()


def whois_client(server: WhoisSandbox, read_deadline: float = 2.0) -> WhoisClient:
    settings = load_settings(
        whois_iana_server=server.iana_address,
        whois_servers=server.servers_setting,
        outbound_allow_private=True,
    )
    return WhoisClient(settings, None, read_deadline=read_deadline)


@pytest.mark.parametrize("close", ["reset", "fin"])
def test_a_whois_answer_cut_before_the_record_is_never_read_as_not_registered(
    whois: WhoisSandbox, close: str
) -> None:
    """RFC 3912 ends an answer only by the close: cut after the banner, with a reset or a clean FIN,
    it is a ProtocolError, never "not registered" (the .ro answer's record starts after 200 bytes)."""
    whois.reset()
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "truncated", "bytes": 120, "close": close}])
    with pytest.raises(ProtocolError):
        whois_client(whois).domain("google.ro")
    assert whois.stats()["faults_injected"] == {"truncated": 1}


def test_a_whois_answer_cut_inside_the_record_keeps_what_arrived(whois: WhoisSandbox) -> None:
    whois.reset()
    text = sample("whois", "google.ro.txt").read_text()
    cut = text.index("  Nameserver:")  # past the registrar, before the nameservers
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "truncated", "bytes": cut, "close": "fin"}])
    answer = whois_client(whois).domain("google.ro")
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.registrar and answer.registration.nameservers == []


def test_a_trickling_whois_answer_stops_at_the_whole_answer_deadline(whois: WhoisSandbox) -> None:
    whois.reset()
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "trickle", "bytes": 8, "interval": 0.1}])
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no complete answer within 0.5 s"):
        whois_client(whois, read_deadline=0.5).domain("google.ro")
    assert time.monotonic() - started < 2.0


# --- the read deadline over TLS (client level) ----------------------------------------------------------
@pytest.fixture(scope="module")
def tls_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, list[str]]]:
    """An https peer for ``api.example`` that trickles its answer 4 bytes every 0.2 s: the headers first
    when the request path is ``/headers``, else only the body. Yields (port, CA bundle, paths asked)."""
    cert, key = throwaway_certificate(tmp_path_factory.mktemp("tls"), "api.example")
    context = server_context(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    asked: list[str] = []

    def answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
            path = tls.recv(4096).split(b" ", 2)[1].decode()
            asked.append(path)
            body = b'{"answer": "' + b"x" * 200 + b'"}'
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
                body
            )
            slow = head + body if path == "/headers" else body
            if path != "/headers":
                tls.sendall(head)
            for start in range(0, len(slow), 4):
                tls.sendall(slow[start : start + 4])
                time.sleep(0.2)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], cert, asked
    listener.close()


@pytest.mark.parametrize("path", ["/headers", "/body"])
def test_the_read_deadline_holds_over_tls(tls_peer: tuple[int, Path, list[str]], path: str) -> None:
    """Each read gets 4 bytes well within the 1 s read timeout; the whole answer would take ~10 s: cut at
    the 1 s deadline with DeadlineExceeded (the socket shut under the TLS read)."""
    port, ca, asked = tls_peer
    resolver = lambda host, p, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]  # noqa: E731
    policy = OutboundPolicy(
        frozenset({"api.example"}), allow_private=True, read_timeout=1.0, read_deadline=1.0,
        ca_bundle=str(ca), resolver=resolver,
    )  # fmt: skip
    audit = MemoryAudit()
    client = OutboundClient("tls", policy, audit, tries=1)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="1 s read deadline"):
        client.request("GET", f"https://api.example:{port}{path}", operation="o", idempotent=True)
    client.close()
    assert 1.0 <= time.monotonic() - started < 2.5  # not the ~10 s the whole answer takes
    assert asked.count(path) == 1 and [c.error_code for c in audit.calls] == ["ambiguous"]
