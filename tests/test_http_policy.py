"""The outbound policy: SSRF refusals, address pinning, redirects, size cap, Retry-After, redaction."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from shared.audit import MemoryAudit
from shared.errors import OutboundRefused, ProtocolError, ResponseTooLarge
from shared.http import (
    OutboundPolicy,
    check_url,
    get_logger,
    parse_retry_after,
    policy_for,
    redact,
    redact_mapping,
    register_secret,
    scrub_upstream_text,
)
from shared.settings import load_settings
from tests.test_http_client import Answer, LocalServer, RecordingGuard, make_client


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


def strict(host: str) -> OutboundPolicy:
    return OutboundPolicy(frozenset({host}), allow_private=False)


def fake_resolver(*answers: str) -> Any:
    """A getaddrinfo stand-in answering the given addresses in turn (the last one repeats)."""
    queue = list(answers)

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


# -- SSRF ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.1/v5", "private"),
        ("https://192.168.1.10/", "private"),
        ("https://100.64.0.7/", "carrier-grade NAT"),
        ("https://127.0.0.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[fd00::1]/", "private"),
        ("https://224.0.0.1/", "multicast"),
        ("https://0.0.0.0/", "unspecified"),
        ("https://240.0.0.1/", "reserved"),
        ("https://[::ffff:127.0.0.1]/", "loopback"),
    ],
)
def test_ip_literals_outside_the_public_internet_are_refused(url: str, reason: str) -> None:
    policy = policy_for(url, load_settings(outbound_allow_private=False))  # even when configured
    with pytest.raises(OutboundRefused, match=reason):
        check_url(url, policy)


def test_a_name_resolving_to_loopback_is_refused_without_the_allow_flag() -> None:
    with pytest.raises(OutboundRefused, match="localhost .*resolves to .*loopback"):
        check_url("https://localhost/v5", strict("localhost"))
    check_url("http://localhost:1/v5", OutboundPolicy(frozenset({"localhost"}), allow_private=True))


def test_hosts_off_the_allowlist_userinfo_and_other_schemes_are_refused() -> None:
    policy = OutboundPolicy(frozenset({"api.gandi.net"}), resolver=fake_resolver("93.184.216.34"))
    check_url("https://API.Gandi.NET./v5/domain/check", policy)
    for url, reason in (
        ("https://evil.example/v5", "allowlist"),
        ("https://user:pw@api.gandi.net/v5", "user-info"),
        ("ftp://api.gandi.net/v5", "scheme"),
        ("http://api.gandi.net/v5", "plain http"),
    ):
        with pytest.raises(OutboundRefused, match=reason):
            check_url(url, policy)


def test_a_refused_target_is_never_contacted_audited_or_charged_to_the_limiter(local: LocalServer) -> None:
    local.script("/x", Answer(200))
    audit, guard = MemoryAudit(), RecordingGuard()
    client = make_client(audit, guard, hosts=frozenset({"localhost"}), allow_private=False)
    with pytest.raises(OutboundRefused, match="loopback"):
        client.request("GET", f"https://localhost:{local.port}/x", operation="o", idempotent=True)
    assert local.hits == [] and audit.calls == [] and guard.before == []


def test_the_connection_goes_to_the_vetted_address_and_keeps_the_host_name(local: LocalServer) -> None:
    local.script("/x", Answer(200, b"{}"))
    client = make_client(hosts=frozenset({"api.test"}), resolver=fake_resolver("127.0.0.1"))
    assert (
        client.request("GET", local.url("/x", host="api.test"), operation="o", idempotent=True).status == 200
    )
    assert local.hits[0][2]["Host"] == f"api.test:{local.port}"


def test_dns_rebinding_between_check_and_connect_is_refused_at_connect_time(local: LocalServer) -> None:
    # First answer (pre-flight) is public, the second (at connect) is loopback: the pinned connection refuses.
    policy = dict(allow_private=False, resolver=fake_resolver("93.184.216.34", "127.0.0.1"))
    client = make_client(hosts=frozenset({"rebind.test"}), **policy)
    with pytest.raises(OutboundRefused, match="loopback"):
        client.request("GET", f"https://rebind.test:{local.port}/x", operation="o", idempotent=True)
    assert local.hits == []


# -- redirects ----------------------------------------------------------------------------------------
def test_a_redirect_to_another_host_is_refused(local: LocalServer) -> None:
    local.script("/x", Answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    audit = MemoryAudit()
    with pytest.raises(OutboundRefused, match="another origin"):
        make_client(audit).request("GET", local.url("/x"), operation="o", idempotent=True)
    assert len(local.hits) == 1 and [(c.status, c.error_code) for c in audit.calls] == [
        (302, "outbound_refused")
    ]


def test_a_redirect_to_another_port_or_name_of_the_same_machine_is_refused(local: LocalServer) -> None:
    for location in (
        f"http://localhost:{local.port}/y",
        "http://127.0.0.1:1/y",
        f"https://127.0.0.1:{local.port}/y",
    ):
        local.script("/x", Answer(307, headers={"Location": location}))
        with pytest.raises(OutboundRefused):
            make_client(hosts=frozenset({"127.0.0.1", "localhost"})).request(
                "GET", local.url("/x"), operation="o", idempotent=True
            )


def test_a_same_host_redirect_is_followed_once_and_re_checked(local: LocalServer) -> None:
    local.script("/old", Answer(301, headers={"Location": "/new"}))
    local.script("/new", Answer(200, b'{"moved": true}'))
    audit, guard = MemoryAudit(), RecordingGuard()
    response = make_client(audit, guard).request("GET", local.url("/old"), operation="o", idempotent=True)
    assert response.json() == {"moved": True}
    assert [c.path for c in audit.calls] == ["/old", "/new"] and len(guard.before) == 2

    local.script("/loop", Answer(302, headers={"Location": "/loop2"}))
    local.script("/loop2", Answer(302, headers={"Location": "/loop"}))
    with pytest.raises(ProtocolError, match="more than one redirect"):
        make_client().request("GET", local.url("/loop"), operation="o", idempotent=True)


def test_a_post_follows_only_a_method_preserving_redirect(local: LocalServer) -> None:
    local.script("/a", Answer(302, headers={"Location": "/b"}))
    with pytest.raises(ProtocolError, match="non-idempotent"):
        make_client().request("POST", local.url("/a"), operation="create", idempotent=False, json={"x": 1})
    local.script("/c", Answer(308, headers={"Location": "/d"}))
    local.script("/d", Answer(201, b"{}"))
    response = make_client().request(
        "POST", local.url("/c"), operation="create", idempotent=False, json={"x": 1}
    )
    assert response.status == 201
    assert local.hits[-1][:2] == ("POST", "/d") and local.hits[-1][3] == b'{"x": 1}'


# -- size cap -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True])
def test_answers_over_the_size_cap_are_refused(local: LocalServer, chunked: bool) -> None:
    local.script("/big", Answer(200, b"x" * 50_000, chunked=chunked))
    audit = MemoryAudit()
    with pytest.raises(ResponseTooLarge, match="larger than 10000 bytes"):
        make_client(audit, max_bytes=10_000).request("GET", local.url("/big"), operation="o", idempotent=True)
    assert audit.calls[0].error_code == "protocol"
    local.script("/ok", Answer(200, b"x" * 10_000, chunked=chunked))
    assert (
        len(
            make_client(max_bytes=10_000)
            .request("GET", local.url("/ok"), operation="o", idempotent=True)
            .content
        )
        == 10_000
    )


# -- Retry-After --------------------------------------------------------------------------------------
def test_retry_after_delta_seconds_are_rounded_up_and_never_negative() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 3 ") == 3.0
    assert parse_retry_after("1.2") == 2.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-5") == 0.0


def test_retry_after_http_dates_are_rounded_up_from_now() -> None:
    now = datetime(2025, 3, 1, 12, 0, 0, 300_000, tzinfo=UTC)
    later = format_datetime(datetime(2025, 3, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0  # 29.7 s rounded up
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now) == 0.0  # in the past
    soon = datetime.now(UTC) + timedelta(seconds=90)
    assert 89 <= (parse_retry_after(format_datetime(soon, usegmt=True)) or 0) <= 91


@pytest.mark.parametrize("value", [None, "", "soon", "12abc", "Mon, 99 Foo 2025", "nan", "inf", "1e999"])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


# -- redaction ----------------------------------------------------------------------------------------
SECRETS = ("tok-8f3a9c", "hunter2pass", "ana@example.org", "+40.727636787", "2970816362385", "AuthX9zz")


def test_redact_masks_secrets_in_every_shape() -> None:
    text = (
        'Authorization: Bearer tok-8f3a9c {"password": "hunter2pass", "email": "ana@example.org", '
        "'phone': '+40.727636787'} cnp_fiscal_code=2970816362385&domain_password=AuthX9zz authinfo: AuthX9zz"
    )
    out = redact(text)
    for secret in SECRETS:
        assert secret not in out
    assert "Authorization" in out and "[REDACTED]" in out
    assert redact('Digest username="u", response="abc123", nonce="n"').startswith("Digest [REDACTED]")
    assert redact("domain example.com expires 2026-05-01") == "domain example.com expires 2026-05-01"


def test_registered_secrets_are_masked_wherever_they_appear() -> None:
    register_secret("Zq7-registered-value")
    assert redact("oops Zq7-registered-value leaked") == "oops [REDACTED] leaked"


def test_redact_mapping_masks_sensitive_keys() -> None:
    data = {
        "fqdn": "a.com",
        "authinfo": "x",
        "owner": {"email": "a@b.cd", "given": "Ana"},
        "list": ["a@b.cd"],
    }
    assert redact_mapping(data) == {
        "fqdn": "a.com",
        "authinfo": "[REDACTED]",
        "owner": {"email": "[REDACTED]", "given": "Ana"},
        "list": ["[REDACTED]"],
    }


def test_upstream_messages_are_scrubbed_of_personal_data() -> None:
    message = "Contact ana@example.org (+40.727636787, CNP 2970816362385) invalid\nline two" + "x" * 300
    out = scrub_upstream_text(message)
    assert "ana@" not in out and "727636787" not in out and "2970816362385" not in out
    assert "\n" not in out and len(out) <= 200


def test_the_logging_filter_redacts_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = get_logger("regq.test")
    with caplog.at_level(logging.DEBUG, logger="regq.test"):
        log.info("calling with token=%s for %s", "tok-8f3a9c", "ana@example.org")
        try:
            raise ValueError("bad password: hunter2pass, cnp 2970816362385")
        except ValueError:
            log.exception("failed")
    for secret in SECRETS[:3] + SECRETS[4:5]:
        assert secret not in caplog.text
    assert "calling with token=[REDACTED]" in caplog.text


def test_a_pinned_https_connection_keeps_the_name_for_sni_and_verifies_the_certificate(
    tmp_path: Path,
) -> None:
    if shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("openssl is needed to make a throwaway certificate, and CI=true refuses a skip")
        pytest.skip("openssl is needed to make a throwaway certificate (a failure under CI=true)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc,return-value]
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = make_client(
        hosts=frozenset({"api.test"}), allow_private=True, resolver=fake_resolver("127.0.0.1")
    )
    audit = MemoryAudit()
    client = make_client(audit, hosts=frozenset({"api.test"}), resolver=fake_resolver("127.0.0.1"))
    with pytest.raises(OutboundRefused, match="certificate verification failed"):  # self-signed: verify is on
        client.request(
            "GET", f"https://api.test:{listener.getsockname()[1]}/v5", operation="o", idempotent=True
        )
    thread.join(5)
    listener.close()
    assert seen == ["api.test"]  # connected to 127.0.0.1, but SNI (and the cert check) used the name
    assert [c.error_code for c in audit.calls] == ["outbound_refused"]  # refused once, not retried
