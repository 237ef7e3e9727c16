"""RdapClient against the sandbox RDAP server over real HTTP: the registry -> registrar hop, the hop refused
or skipped, rate limits (429 both Retry-After forms, 403/422 texts) with their block windows, 404, the
bootstrap (matching, ordered fallback, directory override, Cache-Control refresh), timeouts and the cap."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from sandbox import Sandbox
from shared.audit import MemoryAudit
from shared.errors import (
    ConfigError,
    NotSentError,
    OutboundRefused,
    RateLimited,
    ResponseTooLarge,
    Throttled,
    TransientError,
)
from shared.http.policy import OutboundPolicy
from shared.ratelimit.memory import MemoryLimiter
from shared.registrydata.rdap import (
    Bootstrap,
    BootstrapSource,
    FileBootstrapStore,
    NoRdapService,
    RdapClient,
    RedisBootstrapStore,
    packaged_snapshot,
    refresh_bootstrap,
)
from shared.registrydata.rdap.bootstrap import load_directory
from shared.registrydata.rdap.refresh import max_age
from shared.settings import Settings, load_settings
from shared.upstream import CallPolicy, LimiterGuard


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


OPEN: list[RdapClient] = []


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> Iterator[None]:
    sb.reset("rdap")
    yield
    while OPEN:
        OPEN.pop().close()


def settings_for(sb: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "outbound_allow_private": True,
        "rdap_bootstrap_url": sb.rdap_bootstrap_dir,
        "http_tries": 1,
        "rdap_rate": "1000/s",
        "rdap_burst": 100,
        "max_inline_wait_ms": 0,
    }
    values.update(overrides)
    return load_settings(**values)


class Harness:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        self.limiter = MemoryLimiter(clock)  # ``clock``: the limiter's (its block windows and refills)
        self.guard = LimiterGuard(self.limiter, settings)
        self.audit = MemoryAudit()
        self.client = RdapClient(
            settings, self.audit, CallPolicy(self.guard), sleep=lambda _s: None, **kwargs
        )
        OPEN.append(self.client)


@pytest.fixture
def h(sb: Sandbox) -> Iterator[Harness]:
    harness = Harness(settings_for(sb))
    yield harness
    harness.client.close()


def ops(sb: Sandbox) -> dict[str, int]:
    return sb.stats("rdap")["by_operation"]


def write_bootstrap(folder: Path, dns: dict[str, list[str]], ip: dict[str, list[str]] | None = None) -> Path:
    def doc(entries: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "version": "1.0",
            "publication": "2026-01-01T00:00:00Z",
            "services": [[[k], v] for k, v in entries.items()],
        }

    folder.mkdir(parents=True, exist_ok=True)
    ip = ip or {}
    (folder / "dns.json").write_text(json.dumps(doc(dns)))
    (folder / "ipv4.json").write_text(json.dumps(doc({k: v for k, v in ip.items() if ":" not in k})))
    (folder / "ipv6.json").write_text(json.dumps(doc({k: v for k, v in ip.items() if ":" in k})))
    return folder


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- domains: registry, registrar hop ----------------------------------------------------------------
def test_thin_registry_then_registrar_hop(sb: Sandbox) -> None:
    h = Harness(settings_for(sb, rdap_rate="1/h"))  # a slow refill: the bucket shows what was taken
    answer = h.client.domain("google.com")
    assert answer.registered is True and answer.registration is not None
    reg = answer.registration
    assert reg.server == sb.rdap_url + "/registry/"
    assert reg.registrar == "MarkMonitor Inc."  # the registry's registrar entity
    assert reg.registrant == "Joe User"  # only the registrar's answer holds it
    assert reg.nameservers == ["ns1.google.com", "ns2.google.com", "ns3.google.com", "ns4.google.com"]
    assert reg.expires is not None and reg.expires.isoformat() == "2028-09-14T04:00:00+00:00"
    counts = ops(sb)
    assert (counts["registry_domain"], counts["registrar_domain"]) == (1, 1)
    # one limiter key per RDAP host, of rate class "rdap"; one audit row per request
    assert h.guard.rate_class == {"127.0.0.1": "rdap"}
    bucket = h.limiter.status("127.0.0.1")
    assert bucket.tokens is not None and round(bucket.tokens) == 98  # two requests, one bucket
    assert bucket.rate_per_second == pytest.approx(1 / 3600)  # REGQ_RDAP_RATE
    assert [(c.provider, c.operation, c.status) for c in h.audit.calls] == [
        ("127.0.0.1", "domain", 200),
        ("127.0.0.1", "related", 200),
    ]


def test_asks_for_application_rdap_json(sb: Sandbox, h: Harness) -> None:
    sb.configure("rdap", strict_accept=True)  # 406 unless Accept names application/rdap+json
    assert h.client.domain("google.com").registered is True
    assert sb.stats("rdap")["by_status"] == {"200": 2}


def test_thick_registry_needs_no_hop(sb: Sandbox, h: Harness) -> None:
    reg = h.client.domain("norway.no").registration
    assert reg is not None and reg.registrar == "Domeneshop AS" and reg.registrant is None
    assert ops(sb)["registrar_domain"] == 0


def test_non_rdap_related_link_is_skipped(sb: Sandbox, h: Harness) -> None:
    # themarquetry.com's registry answer lists a text/html related link before the RDAP one
    reg = h.client.domain("themarquetry.com").registration
    assert reg is not None and reg.registrant == "Joe User"
    counts = ops(sb)
    assert (counts["registrar_domain"], counts["unknown"]) == (1, 0)


def test_related_hop_to_a_private_address_is_refused_and_the_registry_answer_stands(sb: Sandbox) -> None:
    sb.configure("rdap", registrar_host="localhost")  # related -> http://localhost:<port>/registrar/...
    settings = settings_for(sb, outbound_allow_private=False)
    # the registry host is vetted as if public (a policy override); the related host gets the real policy
    registry_policy = OutboundPolicy(allowed_hosts=None, allow_private=True)
    harness = Harness(settings, policies={"127.0.0.1": registry_policy})
    try:
        reg = harness.client.domain("google.com").registration
    finally:
        harness.client.close()
    assert reg is not None and reg.registrar == "MarkMonitor Inc." and reg.registrant is None
    assert ops(sb)["registrar_domain"] == 0  # never sent


@pytest.mark.parametrize("status", [500, 400])
def test_failed_hop_keeps_the_registry_answer(sb: Sandbox, h: Harness, status: int) -> None:
    sb.set_faults("rdap", [{"operation": "registrar_domain", "kind": "status", "status": status}])
    answer = h.client.domain("google.com")
    reg = answer.registration
    assert reg is not None and reg.registrar == "MarkMonitor Inc." and reg.registrant is None
    assert answer.missing is None  # not a wait: the registry answer is the whole answer
    assert ops(sb)["registrar_domain"] == 1


class Clock:
    """A clock moved by hand (the limiter's, the bootstrap refresh's): a block window, an empty bucket or
    a max-age ends without waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def hop_url(sb: Sandbox, name: str) -> str:
    return f"{sb.rdap_url}/registrar/domain/{name}"


@pytest.mark.parametrize(
    ("retry_after", "form", "low", "high"),
    [(5, "seconds", 5, 5), (5, "date", 4, 6), (None, "seconds", 300, 300)],  # none: RDAP_RATE_LIMIT_WAIT
)
def test_a_429_on_the_hop_is_a_missing_part_completed_by_one_request(
    sb: Sandbox, retry_after: int | None, form: str, low: float, high: float
) -> None:
    rule: dict[str, Any] = {"operation": "registrar_domain", "kind": "status", "status": 429, "count": 1}
    if retry_after is not None:
        rule.update(retry_after=retry_after, retry_after_form=form)
    sb.set_faults("rdap", [rule])
    clock = Clock()
    h = Harness(settings_for(sb), clock)
    answer = h.client.domain("google.com")
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.registrar == "MarkMonitor Inc." and answer.registration.registrant is None
    missing = answer.missing
    assert missing is not None and missing.part == "registrar" and missing.server == hop_url(sb, "google.com")
    assert low <= missing.retry_after <= high
    assert missing.reason.startswith("registrar RDAP 127.0.0.1: rate limited (HTTP 429")
    assert (ops(sb)["registry_domain"], ops(sb)["registrar_domain"]) == (1, 1)

    # Asked again inside the block window the 429 opened: our limiter holds it back, nothing is sent.
    early = h.client.complete("google.com", answer)
    assert early.missing is not None and early.missing.server == missing.server
    assert early.missing.reason == "registrar RDAP 127.0.0.1 not asked: throttled by HTTP 429 from 127.0.0.1"
    assert 0 < early.missing.retry_after <= high
    assert ops(sb)["registrar_domain"] == 1

    clock.now += high + 1  # the wait is over
    done = h.client.complete("google.com", answer)
    assert done.missing is None and done.registration is not None
    assert done.registration.registrant == "Joe User" and done.registration.registrar == "MarkMonitor Inc."
    assert (ops(sb)["registry_domain"], ops(sb)["registrar_domain"]) == (1, 2)  # only the hop again


def test_our_limiter_holding_the_hop_back_is_a_missing_part(sb: Sandbox) -> None:
    clock = Clock()
    # one token an hour for the host: the registry's GET takes it, the hop's finds the bucket empty
    h = Harness(settings_for(sb, rdap_rate="1/h", rdap_burst=1), clock)
    answer = h.client.domain("google.com")
    missing = answer.missing
    assert missing is not None and missing.server == hop_url(sb, "google.com")
    assert missing.reason == "registrar RDAP 127.0.0.1 not asked: throttled by rate limit"
    assert missing.retry_after == pytest.approx(3600, abs=1)  # the bucket refills in an hour
    assert (ops(sb)["registry_domain"], ops(sb)["registrar_domain"]) == (1, 0)  # the hop was never sent

    clock.now += missing.retry_after
    done = h.client.complete("google.com", answer)
    assert done.missing is None and done.registration is not None
    assert done.registration.registrant == "Joe User"
    assert (ops(sb)["registry_domain"], ops(sb)["registrar_domain"]) == (1, 1)  # only the hop


def test_complete_of_a_whole_answer_sends_nothing(sb: Sandbox, h: Harness) -> None:
    answer = h.client.domain("google.com")
    assert answer.missing is None
    assert h.client.complete("google.com", answer) is answer
    assert sb.stats("rdap")["requests"] == 2


def test_not_registered_is_a_404(sb: Sandbox, h: Harness) -> None:
    answer = h.client.domain("surely-not-registered.com")
    assert answer.registered is False and answer.registration is None


def test_no_bootstrap_entry_raises_no_rdap_service(sb: Sandbox, h: Harness) -> None:
    with pytest.raises(NoRdapService):
        h.client.domain("example.ro")
    assert sb.stats("rdap")["requests"] == 0


# --- rate limits -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("form", "low", "high"), [("seconds", 7, 7), ("date", 6, 8)])
def test_429_retry_after_both_forms(sb: Sandbox, h: Harness, form: str, low: int, high: int) -> None:
    rule = {"operation": "registry_domain", "kind": "status", "status": 429, "retry_after": 7,
            "retry_after_form": form, "count": 1}  # fmt: skip
    sb.set_faults("rdap", [rule])
    with pytest.raises(RateLimited) as info:
        h.client.domain("google.com")
    wait = info.value.retry_after
    assert wait is not None and low <= wait <= high and wait == int(wait)  # whole seconds, rounded up
    blocked = h.limiter.status("127.0.0.1").blocked_until
    assert blocked is not None and blocked > time.time() + 5  # the fleet's block window for the host
    with pytest.raises(Throttled):
        h.client.domain("norway.no")  # same host: stopped by the block window, nothing sent
    assert ops(sb)["registry_domain"] == 1


@pytest.mark.parametrize("status", [403, 422])
def test_403_and_422_throttle_texts_are_rate_limits(sb: Sandbox, h: Harness, status: int) -> None:
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "status", "status": status, "count": 1}])
    with pytest.raises(RateLimited) as info:
        h.client.domain("google.com")
    assert info.value.retry_after == 300.0  # no wait stated: RDAP_RATE_LIMIT_WAIT_SECONDS
    assert info.value.status == status
    blocked = h.limiter.status("127.0.0.1").blocked_until
    assert blocked is not None and blocked > time.time() + 250


def test_503_with_retry_after_is_a_rate_limit(sb: Sandbox, h: Harness) -> None:  # RFC 7480 5.5
    sb.set_faults(
        "rdap", [{"operation": "registry_domain", "kind": "status", "status": 503, "retry_after": 4}]
    )
    with pytest.raises(RateLimited) as info:
        h.client.domain("google.com")
    assert info.value.retry_after == 4.0 and info.value.status == 503
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "status", "status": 503}])
    with pytest.raises(TransientError):  # without Retry-After: the server is down, not throttling
        Harness(settings_for(sb)).client.domain("norway.no")


def test_rate_limit_does_not_fall_back_to_the_next_server(sb: Sandbox, tmp_path: Path) -> None:
    base = sb.rdap_url + "/registry/"
    folder = write_bootstrap(tmp_path / "b", {"com": [base, base.replace("127.0.0.1", "localhost")]})
    sb.set_faults(
        "rdap", [{"operation": "registry_domain", "kind": "status", "status": 429, "retry_after": 3}]
    )
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    with pytest.raises(RateLimited):
        harness.client.domain("google.com")
    assert ops(sb)["registry_domain"] == 1


# --- ordered fallback, timeouts, size cap -------------------------------------------------------------
def test_next_listed_server_after_a_transport_failure(sb: Sandbox, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/registry/"
    folder = write_bootstrap(tmp_path / "b", {"com": [dead, sb.rdap_url + "/registry/"]})
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    reg = harness.client.domain("google.com").registration
    assert reg is not None and reg.server == sb.rdap_url + "/registry/"
    assert harness.audit.calls[0].error_code == "not_sent"


def test_each_failed_server_logs_how_many_are_still_listed(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = [f"http://127.0.0.1:{closed_port()}/{name}/" for name in ("a", "b")]
    folder = write_bootstrap(tmp_path / "b", {"com": [*dead, sb.rdap_url + "/registry/"]})
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    with caplog.at_level(logging.INFO, logger="regq.rdap"):
        reg = harness.client.domain("google.com").registration
    assert reg is not None and reg.server == sb.rdap_url + "/registry/"
    logged = [r.getMessage() for r in caplog.records if r.name == "regq.rdap"]
    failed = [m for m in logged if "more listed" in m]
    assert [m.split("; ")[-1] for m in failed] == ["2 more listed", "1 more listed"]
    assert failed[0].startswith(f"rdap {dead[0]}") and failed[1].startswith(f"rdap {dead[1]}")


def test_next_listed_server_after_a_5xx(sb: Sandbox, tmp_path: Path) -> None:
    first, second = sb.rdap_url + "/registry/", sb.rdap_url.replace("127.0.0.1", "localhost") + "/registry/"
    folder = write_bootstrap(tmp_path / "b", {"com": [first, second]})
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "status", "status": 502, "count": 1}])
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    reg = harness.client.domain("google.com").registration
    assert reg is not None and reg.server == second
    assert ops(sb)["registry_domain"] == 2


def test_every_listed_server_down_raises_the_transient_error(sb: Sandbox, tmp_path: Path) -> None:
    folder = write_bootstrap(tmp_path / "b", {"com": [f"http://127.0.0.1:{closed_port()}/a/"] * 2})
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    with pytest.raises(NotSentError):
        harness.client.domain("google.com")
    assert len(harness.audit.calls) == 2


def test_timeout_is_a_transient_error(sb: Sandbox) -> None:
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "timeout", "seconds": 10}])
    harness = Harness(settings_for(sb, read_timeout_seconds=0.3))
    started = time.monotonic()
    with pytest.raises(TransientError):
        harness.client.domain("google.com")
    assert time.monotonic() - started < 5


def test_oversized_answer_is_refused(sb: Sandbox, h: Harness) -> None:
    sb.configure("rdap", oversize_bytes=2 * 1024 * 1024)
    with pytest.raises(ResponseTooLarge):
        h.client.domain("google.com")


def test_plain_http_servers_are_skipped_without_the_allow_flag(sb: Sandbox, tmp_path: Path) -> None:
    folder = write_bootstrap(tmp_path / "b", {"com": [sb.rdap_url + "/registry/"]})
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder), outbound_allow_private=False))
    with pytest.raises(NoRdapService):
        harness.client.domain("google.com")


# --- IP registrants ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ip", "name"),
    [
        ("13.65.1.1", "Microsoft Corporation"),  # ARIN: registrant fn
        ("1.1.1.1", "APNIC-LABS"),  # APNIC: no registrant -> network name
        ("130.59.31.80", "SWITCH-LAN"),  # RIPE: registrants without vCards
        ("2001:4860::8888", "Google LLC"),
        ("2001:db8::1", "Joe User"),
    ],
)
def test_ip_registrant(sb: Sandbox, h: Harness, ip: str, name: str) -> None:
    assert h.client.ip_registrant(ip) == name
    assert ops(sb)["ip"] == 1


def test_ip_without_a_bootstrap_prefix_or_network(sb: Sandbox, tmp_path: Path, h: Harness) -> None:
    with pytest.raises(NoRdapService):
        h.client.ip_registrant("8.8.8.8")
    folder = write_bootstrap(tmp_path / "b", {}, {"10.0.0.0/8": [sb.rdap_url + "/rir/"]})
    harness = Harness(settings_for(sb, rdap_bootstrap_url=str(folder)))
    assert harness.client.ip_registrant("10.1.2.3") is None  # 404: no network holds it
    with pytest.raises(ValueError):
        harness.client.ip_registrant("not-an-ip")


# --- bootstrap matching and sources -----------------------------------------------------------------
def test_domain_matching_drops_leftmost_labels() -> None:
    snap = packaged_snapshot()
    assert snap.domain_servers("www.mail.google.com") == ["https://rdap.verisign.com/com/v1/"]
    assert snap.domain_servers("norway.no") == ["https://rdap.norid.no/"]
    for tld in ("ro", "eu", "de", "io", "jp", "it", "ch", "be"):  # no entry in the packaged dns.json
        assert snap.domain_servers(f"example.{tld}") == []
    docs = {
        "dns.json": {"services": [[["uk"], ["https://uk/"]], [["co.uk"], ["https://co-uk/", "https://b/"]]]},
        "ipv4.json": {"services": []},
        "ipv6.json": {"services": []},
    }
    custom = Bootstrap.from_documents(docs, "test")
    assert custom.domain_servers("shop.example.co.uk") == [
        "https://co-uk/",
        "https://b/",
    ]  # longest, in order
    assert custom.domain_servers("example.org.uk") == ["https://uk/"]


def test_ip_matching_takes_the_longest_prefix() -> None:
    docs = {
        "dns.json": {"services": []},
        "ipv4.json": {
            "services": [[["10.0.0.0/8"], ["https://wide/"]], [["10.1.0.0/16"], ["https://narrow/"]]]
        },
        "ipv6.json": {"services": [[["2001:db8::/32"], ["https://v6/"]]]},
    }
    custom = Bootstrap.from_documents(docs, "test")
    assert custom.ip_servers("10.1.2.3") == ["https://narrow/"]
    assert custom.ip_servers("10.2.0.1") == ["https://wide/"]
    assert custom.ip_servers("2001:db8::1") == ["https://v6/"]
    assert custom.ip_servers("11.0.0.1") == []
    snap = packaged_snapshot()
    assert snap.ip_servers("41.1.1.1") == ["https://rdap.afrinic.net/rdap/", "http://rdap.afrinic.net/rdap/"]
    assert snap.ip_servers("1.1.1.1") == ["https://rdap.apnic.net/"]


def test_directory_override_is_read_as_is_and_never_refreshed(sb: Sandbox) -> None:
    settings = settings_for(sb)
    source = BootstrapSource(settings, FileBootstrapStore("/nonexistent"))
    assert source.current().origin.startswith("directory ")
    assert source.domain_servers("google.com") == [sb.rdap_url + "/registry/"]
    report = refresh_bootstrap(settings, MemoryAudit(), None)
    assert report == {"dns.json": "directory", "ipv4.json": "directory", "ipv6.json": "directory"}
    assert sb.stats("rdap")["requests"] == 0
    with pytest.raises(ConfigError) as info:
        BootstrapSource(settings_for(sb, rdap_bootstrap_url="/no/such/dir"))
    assert info.value.variable == "REGQ_RDAP_BOOTSTRAP_URL"


def test_broken_directory_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "dns.json").write_text("{}")
    with pytest.raises(ConfigError):
        load_directory(tmp_path)


def test_cache_control_values() -> None:
    assert max_age("public, max-age=86400") == 86400.0
    assert max_age("no-cache") == 0.0
    assert max_age(None, default=5) == 5
    assert max_age("private", default=5) == 5


def test_refresh_honours_cache_control_and_feeds_the_source(sb: Sandbox, tmp_path: Path) -> None:
    sb.configure("rdap", bootstrap_max_age=60)
    settings = settings_for(sb, rdap_bootstrap_url=sb.rdap_url + "/bootstrap/")
    store, clock, audit = FileBootstrapStore(tmp_path / "var"), Clock(), MemoryAudit()
    source = BootstrapSource(settings, store, recheck_seconds=0)
    assert source.current().origin == "snapshot"  # nothing stored yet
    assert refresh_bootstrap(settings, audit, None, store, clock=clock) == dict.fromkeys(
        ("dns.json", "ipv4.json", "ipv6.json"), "refreshed"
    )
    assert ops(sb)["bootstrap"] == 3
    clock.now += 59
    assert set(refresh_bootstrap(settings, audit, None, store, clock=clock).values()) == {"fresh"}
    assert ops(sb)["bootstrap"] == 3  # still fresh: not fetched
    clock.now += 2
    assert set(refresh_bootstrap(settings, audit, None, store, clock=clock).values()) == {"refreshed"}
    assert ops(sb)["bootstrap"] == 6
    assert set(refresh_bootstrap(settings, audit, None, store, clock=clock, force=True).values()) == {
        "refreshed"
    }
    current = source.current()
    assert current.origin.startswith("refreshed copy")
    assert current.domain_servers("google.com") == [sb.rdap_url + "/registry/"]
    assert current.ip_servers("1.1.1.1") == [sb.rdap_url + "/rir/"]


def test_a_bad_refresh_keeps_the_previous_copy(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, rdap_bootstrap_url=sb.rdap_url + "/bootstrap/")
    store, clock = FileBootstrapStore(tmp_path / "var"), Clock()
    refresh_bootstrap(settings, MemoryAudit(), None, store, clock=clock)
    before = store.load("dns.json")
    sb.set_faults("rdap", [{"operation": "bootstrap", "kind": "non_json"}])
    report = refresh_bootstrap(settings, MemoryAudit(), None, store, clock=clock, force=True)
    assert all(outcome.startswith("failed: ") for outcome in report.values())
    assert store.load("dns.json") == before


def test_redis_store_is_shared(sb: Sandbox, redis_client: redis.Redis, redis_prefix: str) -> None:
    settings = settings_for(sb, rdap_bootstrap_url=sb.rdap_url + "/bootstrap/")
    writer = RedisBootstrapStore(redis_client, redis_prefix)
    assert set(refresh_bootstrap(settings, MemoryAudit(), None, writer).values()) == {"refreshed"}
    reader = BootstrapSource(settings, RedisBootstrapStore(redis_client, redis_prefix))  # another process
    assert reader.domain_servers("norway.no") == [sb.rdap_url + "/registry/"]
    assert redis_client.exists(f"{redis_prefix}:rdap:bootstrap:dns.json")


def test_http_entry_refused_then_https_listed_first_is_kept(sb: Sandbox) -> None:
    # an http:// base URL the policy refuses by address is skipped for the next one (OutboundRefused)
    settings = settings_for(sb, outbound_allow_private=False)
    client = RdapClient(settings, MemoryAudit(), None, packaged_snapshot())
    assert client._usable(["https://a/", "http://b/"]) == ["https://a/"]
    with pytest.raises(OutboundRefused):
        client.fetch("https://127.0.0.1:1/domain/x.com", "domain")
    client.close()
