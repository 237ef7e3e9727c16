"""The lookup pipeline over counting sources: fallback, caches, partial then complete.

The sources here are in-process stand-ins that count their calls; the real RDAP, WHOIS and DNS clients
are tested against the sandbox in their own modules, and the whole path in tests/test_lookup_e2e.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from shared.errors import JobValidationError, RateLimited, Throttled, TransientError
from shared.registrydata.cache import CacheTTLs, MemoryLookupCache
from shared.registrydata.model import DomainAnswer, MissingPart, NameserverAddresses, Registration
from shared.registrydata.pipeline import Pipeline


class NoRdap(Exception):
    """What an RDAP client raises when the bootstrap has no entry for the TLD."""


class Sources:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.rdap_error: Callable[[], Exception] | None = None
        self.dns_error: dict[str, Callable[[], Exception]] = {}
        self.ip_error: Callable[[], Exception] | None = None
        self.registered = True

    def _registration(self, source: str, apex: str) -> DomainAnswer:
        if not self.registered:
            return DomainAnswer(False)
        reg = Registration(
            source=source,  # type: ignore[arg-type]
            server=f"{source}.example",
            registrar="Example Registrar",
            created=date(2001, 2, 3),
            expires=date(2031, 2, 3),
            statuses=["client transfer prohibited"],
            nameservers=[f"ns1.{apex}", "ns.shared.net"],
        )
        return DomainAnswer(True, reg)

    # the three source interfaces
    def rdap_domain(self, apex: str) -> DomainAnswer:
        self.calls["rdap"] += 1
        if self.rdap_error is not None:
            raise self.rdap_error()
        return self._registration("rdap", apex)

    def whois_domain(self, apex: str) -> DomainAnswer:
        self.calls["whois"] += 1
        return self._registration("whois", apex)

    def resolve(self, host: str) -> NameserverAddresses:
        self.calls[f"dns:{host}"] += 1
        if host in self.dns_error:
            raise self.dns_error[host]()
        return NameserverAddresses(
            host, ["192.0.2.1", "2001:db8::1"] if host.startswith("ns1") else ["198.51.100.7"]
        )

    def ip_registrant(self, ip: str) -> str | None:
        self.calls[f"ip:{ip}"] += 1
        if self.ip_error is not None:
            raise self.ip_error()
        return None if ip == "198.51.100.7" else f"holder of {ip}"


class Fn:
    def __init__(self, fn: Callable[[str], object]) -> None:
        self.fn = fn

    def domain(self, apex: str) -> object:
        return self.fn(apex)


@pytest.fixture
def src() -> Sources:
    return Sources()


@pytest.fixture
def pipeline(src: Sources) -> Pipeline:
    return Pipeline(
        rdap=Fn(src.rdap_domain),  # type: ignore[arg-type]
        whois=Fn(src.whois_domain),  # type: ignore[arg-type]
        dns=src,
        ip_registrants=src,
        cache=MemoryLookupCache(CacheTTLs()),
        fallback=(NoRdap, TransientError),
    )


def test_a_complete_lookup_has_every_part_and_is_cached_whole(pipeline: Pipeline, src: Sources) -> None:
    answer = pipeline.lookup_domain("WWW.Exemple.co.uk")
    data = answer.to_dict()
    assert (data["domain"], data["apex"], data["registered"], data["partial"]) == (
        "www.exemple.co.uk",
        "exemple.co.uk",
        True,
        False,
    )
    assert data["registration"]["source"] == "rdap" and data["registration"]["expires"] == "2031-02-03"
    assert data["nameservers"] == [
        {"host": "ns1.exemple.co.uk", "ips": ["192.0.2.1", "2001:db8::1"]},
        {"host": "ns.shared.net", "ips": ["198.51.100.7"]},
    ]
    assert data["ip_registrants"] == {
        "192.0.2.1": "holder of 192.0.2.1",
        "2001:db8::1": "holder of 2001:db8::1",
        "198.51.100.7": None,
    }
    before = sum(src.calls.values())
    again = pipeline.lookup_domain("exemple.co.uk")
    assert sum(src.calls.values()) == before  # the whole snapshot came from the cache
    assert again.to_dict() == {**data, "domain": "exemple.co.uk"}


def test_whois_answers_when_rdap_has_no_service_or_is_down(pipeline: Pipeline, src: Sources) -> None:
    src.rdap_error = lambda: NoRdap("no RDAP service for .ro")
    assert pipeline.lookup_domain("exemplu.ro").registration.source == "whois"  # type: ignore[union-attr]
    src.rdap_error = lambda: TransientError("503", provider="rdap")
    assert pipeline.lookup_domain("other.ro").registration.source == "whois"  # type: ignore[union-attr]
    assert src.calls["whois"] == 2


def test_a_throttled_registry_gives_a_partial_answer_never_not_registered(
    pipeline: Pipeline, src: Sources
) -> None:
    src.rdap_error = lambda: RateLimited("429", provider="rdap.example", retry_after=42)
    answer = pipeline.lookup_domain("rar.example.com")
    assert answer.partial and answer.registered is None and answer.retry_after == 42
    assert "rate limited" in (answer.reason or "") and src.calls["whois"] == 0


def test_partial_then_complete_asks_only_for_what_was_missing(pipeline: Pipeline, src: Sources) -> None:
    src.dns_error["ns.shared.net"] = lambda: Throttled("dns", 7.0)
    src.ip_error = lambda: RateLimited("429", provider="rdap.arin.net", retry_after=None)
    first = pipeline.lookup_domain("pe-bucati.com")
    assert first.partial and first.registered is True and first.retry_after == 30  # the default wait
    assert first.nameservers[1].ips == [] and first.ip_registrants == {}
    assert (src.calls["rdap"], src.calls["dns:ns1.pe-bucati.com"], src.calls["dns:ns.shared.net"]) == (
        1,
        1,
        1,
    )
    src.dns_error.clear()
    src.ip_error = None
    second = pipeline.lookup_domain("pe-bucati.com")
    assert not second.partial and second.nameservers[1].ips == ["198.51.100.7"]
    assert len(second.ip_registrants) == 3
    # Registration and ns1 came from the cache: only the missing requests went out.
    assert (src.calls["rdap"], src.calls["dns:ns1.pe-bucati.com"], src.calls["dns:ns.shared.net"]) == (
        1,
        1,
        2,
    )


def test_not_registered_is_a_complete_answer_with_a_short_negative_entry(
    pipeline: Pipeline, src: Sources
) -> None:
    src.registered = False
    answer = pipeline.lookup_domain("liber-acum.com")
    assert answer.to_dict()["registered"] is False and not answer.partial and answer.registration is None
    hit = pipeline.cache.get("domain", "liber-acum.com")
    assert hit is not None and hit.negative


def test_bad_input_names_the_field() -> None:
    pipeline = Pipeline(None, None, None, None, MemoryLookupCache(CacheTTLs()))  # type: ignore[arg-type]
    with pytest.raises(JobValidationError, match="domain"):
        pipeline.lookup_domain("co.uk")
    with pytest.raises(JobValidationError, match="domain"):
        pipeline.lookup_domain("-bad-.com")
    with pytest.raises(JobValidationError, match="ip"):
        pipeline.lookup_ip_registrant("300.1.1.1")


def test_a_cached_snapshot_is_served_whole_and_only_when_complete(pipeline: Pipeline, src: Sources) -> None:
    assert pipeline.cached_domain("cache-me.com") is None
    src.dns_error["ns.shared.net"] = lambda: Throttled("dns", 1.0)
    assert pipeline.lookup_domain("cache-me.com").partial
    assert pipeline.cached_domain("cache-me.com") is None  # a partial answer is never the snapshot
    src.dns_error.clear()
    complete = pipeline.lookup_domain("cache-me.com")
    cached = pipeline.cached_domain("www.cache-me.com")
    assert cached is not None and cached.to_dict() == {**complete.to_dict(), "domain": "www.cache-me.com"}
    # the cache-hot job's result: the same JSON, taken as decoded (no DomainLookup in between)
    assert pipeline.cached_answer("www.cache-me.com") == cached.to_dict()
    assert pipeline.cached_answer("never-looked-up.com") is None


def test_the_runner_answers_a_cached_lookup_without_a_lease(
    pipeline: Pipeline, src: Sources, tmp_path: Path
) -> None:
    from shared.breaker import BreakerConfig, MemoryBreaker
    from shared.execution import Done
    from shared.execution.runner import JobRunner
    from shared.jobs import JobStatus, derive_key, parse_job
    from shared.locks import MemoryDomainLock
    from shared.settings import load_settings
    from shared.store import Store

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.upgrade()
    breaker = MemoryBreaker(BreakerConfig(3, 60, 1, 30), store.breaker_events)
    runner = JobRunner(store, load_settings(), breaker, lambda _r: None, MemoryDomainLock(), lambda: pipeline)  # type: ignore[arg-type,return-value]

    def submit(data: dict[str, object]) -> str:
        job = parse_job(data)
        key = derive_key(job)
        store.jobs.create(key, job)
        return key

    first = runner.run(submit({"kind": "lookup", "domain": "rapid.com"}), "w", "lookup", "rapid.com")
    assert (
        isinstance(first, Done) and first.outcome is not None and first.outcome.status is JobStatus.SUCCEEDED
    )
    calls = sum(src.calls.values())
    claims: list[str] = []
    real_claim = store.jobs.claim
    store.jobs.claim = lambda *a, **k: claims.append(a[0]) or real_claim(*a, **k)  # type: ignore[method-assign]
    key = submit({"kind": "lookup", "domain": "www.rapid.com"})
    fast = runner.run(key, "w", "lookup", "www.rapid.com")
    assert isinstance(fast, Done) and fast.outcome is not None and fast.outcome.status is JobStatus.SUCCEEDED
    assert claims == [] and sum(src.calls.values()) == calls  # no lease, no upstream
    assert fast.outcome.result is not None and fast.outcome.result["domain"] == "www.rapid.com"
    again = runner.run(key, "w", "lookup", "www.rapid.com")  # a redelivery: the recorded outcome
    assert isinstance(again, Done) and again.outcome is not None and again.outcome.duplicate
    store.dispose()


# --- a thin registry's throttled registrar hop ------------------------------------------------------------
class ThinWhois:
    """A WHOIS source for a thin registry whose registrar hop is throttled ``throttled`` times."""

    def __init__(self, src: Sources, throttled: int) -> None:
        self.src = src
        self.throttled = throttled

    def _hop(self, registry: Registration) -> DomainAnswer:
        self.src.calls["whois:registrar"] += 1
        if self.throttled > 0:
            self.throttled -= 1
            reason = "registrar WHOIS whois.registrar.example rate limited: quota exceeded"
            return DomainAnswer(
                True, registry, MissingPart("registrar", "whois.registrar.example", reason, 7.0)
            )
        return DomainAnswer(True, replace(registry, registrant="Holder Ltd"))

    def domain(self, apex: str) -> DomainAnswer:
        self.src.calls["whois:registry"] += 1
        registry = self.src._registration("whois", apex).registration
        assert registry is not None
        return self._hop(registry)

    def complete(self, apex: str, answer: DomainAnswer) -> DomainAnswer:
        assert answer.missing is not None and answer.missing.server == "whois.registrar.example"
        assert answer.registration is not None
        return self._hop(answer.registration)


def thin_pipeline(src: Sources, throttled: int) -> Pipeline:
    src.rdap_error = lambda: NoRdap("no RDAP for this TLD")
    return Pipeline(
        rdap=Fn(src.rdap_domain),  # type: ignore[arg-type]
        whois=ThinWhois(src, throttled),
        dns=src,
        ip_registrants=src,
        cache=MemoryLookupCache(CacheTTLs()),
        fallback=(NoRdap, TransientError),
    )


def test_a_throttled_registrar_hop_is_partial_then_only_the_hop_is_asked(src: Sources) -> None:
    pipeline = thin_pipeline(src, throttled=1)
    first = pipeline.lookup_domain("thin.com")
    assert first.partial is True and first.retry_after == 7.0
    assert first.reason is not None and "registrar WHOIS whois.registrar.example" in first.reason
    assert first.registered is True and first.registration is not None
    assert first.registration.registrar == "Example Registrar" and first.registration.registrant is None
    assert [n.host for n in first.nameservers] == ["ns1.thin.com", "ns.shared.net"]  # the rest was done
    before = Counter(src.calls)

    second = pipeline.lookup_domain("thin.com")
    assert second.partial is False and second.registration is not None
    assert second.registration.registrant == "Holder Ltd"
    assert Counter(src.calls) - before == Counter({"whois:registrar": 1})  # only the missing request
    assert pipeline.lookup_domain("thin.com").to_dict() == second.to_dict()  # the complete snapshot
    assert Counter(src.calls) - before == Counter({"whois:registrar": 1})


def test_a_registrar_hop_still_throttled_stays_partial_without_asking_the_registry(src: Sources) -> None:
    pipeline = thin_pipeline(src, throttled=2)
    assert pipeline.lookup_domain("thin.com").partial is True
    again = pipeline.lookup_domain("thin.com")
    assert again.partial is True and again.retry_after == 7.0
    assert src.calls["whois:registry"] == 1 and src.calls["whois:registrar"] == 2
    assert pipeline.lookup_domain("thin.com").partial is False
    assert src.calls["whois:registry"] == 1 and src.calls["whois:registrar"] == 3


def test_the_real_whois_client_completes_a_throttled_hop_over_tcp(src: Sources) -> None:
    from sandbox.whois import WhoisSandbox
    from shared.registrydata.whois import WhoisClient
    from shared.settings import load_settings

    sandbox = WhoisSandbox().start()
    try:
        sandbox.set_faults([{"server": "whois.dreamhost.com", "kind": "throttle", "text": "nl", "count": 1}])
        settings = load_settings(
            whois_iana_server=sandbox.iana_address,
            whois_servers=sandbox.servers_setting,
            outbound_allow_private=True,
        )
        src.rdap_error = lambda: NoRdap("no RDAP for this TLD")
        pipeline = Pipeline(
            rdap=Fn(src.rdap_domain),  # type: ignore[arg-type]
            whois=WhoisClient(settings, read_deadline=3.0),
            dns=src,
            ip_registrants=src,
            cache=MemoryLookupCache(CacheTTLs()),
            fallback=(NoRdap, TransientError),
        )
        first = pipeline.lookup_domain("shazow.net")
        assert first.partial is True and first.retry_after == 1.0  # "only 1 request per second allowed"
        assert first.registration is not None and first.registration.registrant is None
        before = dict(sandbox.stats()["queries"])
        done = pipeline.lookup_domain("shazow.net")
        assert done.partial is False and done.registration is not None
        assert done.registration.registrant == "shazow.net Private Registrant"
        after = sandbox.stats()["queries"]
        assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"whois.dreamhost.com": 1}
    finally:
        sandbox.stop()


def test_the_real_rdap_client_completes_a_throttled_hop_over_http(src: Sources) -> None:
    """A 429 from the registrar's RDAP server (sandbox fault rule, Retry-After: 2) makes the lookup
    partial; asked again inside the block window nothing is sent; after it, only the registrar GET."""
    import time

    from sandbox import Sandbox
    from shared.audit import MemoryAudit
    from shared.ratelimit.memory import MemoryLimiter
    from shared.registrydata.rdap import NoRdapService, RdapClient
    from shared.settings import load_settings
    from shared.upstream import CallPolicy, LimiterGuard

    now = [time.time()]  # the limiter's clock, moved by hand past the block window
    with Sandbox() as sb:
        settings = load_settings(
            outbound_allow_private=True,
            rdap_bootstrap_url=sb.rdap_bootstrap_dir,
            http_tries=1,
            max_inline_wait_ms=0,
        )
        guard = LimiterGuard(MemoryLimiter(lambda: now[0]), settings)
        rdap = RdapClient(settings, MemoryAudit(), CallPolicy(guard), sleep=lambda _s: None)
        pipeline = Pipeline(
            rdap=rdap,
            whois=Fn(src.whois_domain),  # type: ignore[arg-type]
            dns=src,
            ip_registrants=src,
            cache=MemoryLookupCache(CacheTTLs()),
            fallback=(NoRdapService, TransientError),
        )

        def sent() -> Counter[str]:
            return Counter({k: v for k, v in sb.stats("rdap")["by_operation"].items() if v})

        try:
            rule = {"operation": "registrar_domain", "kind": "status", "status": 429, "retry_after": 2}
            sb.set_faults("rdap", [{**rule, "count": 1}])
            first = pipeline.lookup_domain("google.com")
            assert first.partial is True and first.retry_after == 2.0
            assert first.reason is not None and "registrar RDAP 127.0.0.1: rate limited" in first.reason
            assert first.registration is not None and first.registration.registrant is None
            assert first.registration.registrar == "MarkMonitor Inc."
            assert len(first.nameservers) == 4  # the rest of the lookup was done
            assert sent() == Counter({"registry_domain": 1, "registrar_domain": 1})
            calls = Counter(src.calls)

            held = pipeline.lookup_domain("google.com")  # inside the block window: our limiter says wait
            assert held.partial is True and held.reason is not None and "not asked" in held.reason
            assert sent() == Counter({"registry_domain": 1, "registrar_domain": 1})  # nothing sent

            now[0] += 3
            done = pipeline.lookup_domain("google.com")
            assert done.partial is False and done.registration is not None
            assert done.registration.registrant == "Joe User"
            assert sent() == Counter({"registry_domain": 1, "registrar_domain": 2})  # only the hop
            assert pipeline.lookup_domain("google.com").to_dict() == done.to_dict()  # the snapshot
            assert sent()["registrar_domain"] == 2 and Counter(src.calls) == calls  # DNS, IPs: cached
        finally:
            rdap.close()
