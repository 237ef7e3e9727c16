"""Lookup caches: the interface on every backend (memory and Redis), then each backend's expiry and the
Redis layout. Entries are JSON, keyed by kind and a normalised key, with a TTL per kind and a shorter
one for "not found"."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from shared.backends import RedisConnection, connect
from shared.errors import ConfigError
from shared.registrydata.cache import (
    Cached,
    CacheTTLs,
    LookupCache,
    MemoryLookupCache,
    RedisLookupCache,
    cache_from_url,
)
from shared.registrydata.model import NameserverAddresses
from shared.settings import load_settings

TTLS = CacheTTLs(domain=3600, ns=1800, ipreg=86400, negative=60)
SNAPSHOT = {"domain": "www.example.com", "apex": "example.com", "registered": True, "partial": False}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    cache: LookupCache
    age: Callable[[float], None]  # let this many seconds pass for every entry


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.005)


@pytest.fixture(params=["memory", "redis"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "memory":
        clock = FakeClock()

        def advance(seconds: float) -> None:
            clock.now += seconds

        yield Rig(MemoryLookupCache(TTLS, clock=clock), advance)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    cache = RedisLookupCache(client, request.getfixturevalue("redis_prefix"), TTLS)

    def shorten(seconds: float) -> None:  # every entry's remaining life, less ``seconds``, on the server
        for key in client.scan_iter(match=f"{cache.prefix}:lookup:*"):
            left = client.pttl(key) - int(seconds * 1000)
            if left > 0:
                client.pexpire(key, left)
            else:
                client.delete(key)

    yield Rig(cache, shorten)
    client.close()


# --- the interface, every backend ------------------------------------------------------------------------
def test_a_value_comes_back_as_stored(rig: Rig) -> None:
    before = time.time()
    rig.cache.put("domain", "example.com", SNAPSHOT)
    hit = rig.cache.get("domain", "example.com")
    assert hit is not None
    assert (hit.value, hit.negative) == (SNAPSHOT, False)
    assert before <= hit.stored_at <= time.time()


def test_a_miss_is_none(rig: Rig) -> None:
    assert rig.cache.get("domain", "example.com") is None
    assert rig.cache.get_many("ns", ["a.example", "b.example"]) == {}


def test_kinds_are_separate(rig: Rig) -> None:
    rig.cache.put("domain", "example.com", SNAPSHOT)
    assert rig.cache.get("ns", "example.com") is None


def test_keys_are_normalised(rig: Rig) -> None:
    rig.cache.put("domain", "Example.COM.", SNAPSHOT)
    rig.cache.put("ipreg", "2001:DB8:0:0::1", "Example Net")
    assert rig.cache.get("domain", "example.com") is not None
    hit = rig.cache.get("ipreg", "2001:db8::1")
    assert hit is not None and hit.value == "Example Net"
    with pytest.raises(ValueError):
        rig.cache.get("ipreg", "not-an-address")
    with pytest.raises(ValueError):
        rig.cache.put("whois", "example.com", {})  # type: ignore[arg-type]


def test_each_kind_lives_its_own_ttl(rig: Rig) -> None:
    rig.cache.put("domain", "example.com", SNAPSHOT)  # 3600
    rig.cache.put("ns", "ns1.example.com", {"host": "ns1.example.com", "ips": ["192.0.2.1"]})  # 1800
    rig.cache.put("ipreg", "192.0.2.1", "Example Net")  # 86400
    rig.age(1799)
    assert rig.cache.get("ns", "ns1.example.com") is not None
    rig.age(2)
    assert rig.cache.get("ns", "ns1.example.com") is None
    assert rig.cache.get("domain", "example.com") is not None
    rig.age(1800)
    assert rig.cache.get("domain", "example.com") is None
    assert rig.cache.get("ipreg", "192.0.2.1") is not None


def test_a_registration_answer_lives_the_domain_ttl(rig: Rig) -> None:
    rig.cache.put("reg", "Example.COM", {"registered": True})
    rig.age(3599)
    assert rig.cache.get("reg", "example.com") is not None
    rig.age(2)
    assert rig.cache.get("reg", "example.com") is None


def test_not_found_is_cached_briefly(rig: Rig) -> None:
    unregistered = {**SNAPSHOT, "apex": "free.example", "registered": False}
    rig.cache.put("domain", "free.example", unregistered, negative=True)
    rig.cache.put("ipreg", "192.0.2.9", None, negative=True)
    hit = rig.cache.get("domain", "free.example")
    assert hit is not None and hit.negative and hit.value == unregistered
    none_hit = rig.cache.get("ipreg", "192.0.2.9")
    assert none_hit is not None and none_hit.negative and none_hit.value is None  # a cached "nobody"
    rig.age(61)  # the negative TTL, not the kind's
    assert rig.cache.get("domain", "free.example") is None
    assert rig.cache.get("ipreg", "192.0.2.9") is None


def test_a_put_replaces_the_entry_and_its_ttl(rig: Rig) -> None:
    rig.cache.put("domain", "example.com", {**SNAPSHOT, "registered": False}, negative=True)
    rig.age(30)
    rig.cache.put("domain", "example.com", SNAPSHOT)  # registered meanwhile
    rig.age(120)  # past the negative TTL
    hit = rig.cache.get("domain", "example.com")
    assert hit is not None and not hit.negative and hit.value["registered"] is True


def test_get_many_returns_the_hits_by_normalised_key(rig: Rig) -> None:
    rig.cache.put("ns", "ns1.example.com", {"host": "ns1.example.com", "ips": ["192.0.2.1"]})
    rig.cache.put("ns", "ns3.example.com", {"host": "ns3.example.com", "ips": []}, negative=True)
    hits = rig.cache.get_many(
        "ns", ["NS1.example.com.", "ns2.example.com", "ns3.example.com", "ns1.example.com"]
    )
    assert sorted(hits) == ["ns1.example.com", "ns3.example.com"]
    assert isinstance(hits["ns1.example.com"], Cached) and hits["ns3.example.com"].negative


def test_delete(rig: Rig) -> None:
    rig.cache.put("domain", "example.com", SNAPSHOT)
    rig.cache.delete("domain", "EXAMPLE.com")
    assert rig.cache.get("domain", "example.com") is None
    rig.cache.delete("domain", "never.example")  # nothing there: no error


def test_nameserver_addresses_typed(rig: Rig) -> None:
    rig.cache.put_nameserver(NameserverAddresses("ns1.example.com", ["192.0.2.1", "2001:db8::1"]))
    rig.cache.put_nameserver(NameserverAddresses("gone.example.com", []))
    assert rig.cache.get_nameserver("ns1.example.com") == NameserverAddresses(
        "ns1.example.com", ["192.0.2.1", "2001:db8::1"]
    )
    assert rig.cache.get_nameserver("gone.example.com") == NameserverAddresses("gone.example.com", [])
    negative = rig.cache.get("ns", "gone.example.com")
    assert negative is not None and negative.negative  # NXDOMAIN is a short-lived entry
    assert rig.cache.get_nameserver("other.example.com") is None


# --- backends ---------------------------------------------------------------------------------------------
def test_redis_entries_are_json_under_the_prefix_with_a_server_side_expiry(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    cache = RedisLookupCache(redis_client, redis_prefix, TTLS)
    cache.put("domain", "example.com", SNAPSHOT)
    cache.put("ns", "gone.example.com", {"host": "gone.example.com", "ips": []}, negative=True)
    key = f"{redis_prefix}:lookup:domain:example.com"
    stored = json.loads(redis_client.get(key) or b"")
    assert stored["value"] == SNAPSHOT and stored["negative"] is False
    assert 3590_000 < redis_client.pttl(key) <= 3600_000
    assert 50_000 < redis_client.pttl(f"{redis_prefix}:lookup:ns:gone.example.com") <= 60_000


def test_redis_reads_many_in_one_round_trip(redis_client: redis.Redis, redis_prefix: str) -> None:
    cache = RedisLookupCache(redis_client, redis_prefix, TTLS)
    cache.get_many("ns", [f"ns{i}.example.com" for i in range(20)])
    assert cache.round_trips == 1


def test_redis_entries_expire_on_the_server(redis_client: redis.Redis, redis_prefix: str) -> None:
    cache = RedisLookupCache(redis_client, redis_prefix, CacheTTLs(domain=30, negative=0.05))
    cache.put("domain", "free.example", None, negative=True)
    cache.put("domain", "example.com", SNAPSHOT)
    wait_until(lambda: cache.get("domain", "free.example") is None)
    assert cache.get("domain", "example.com") is not None


def test_redis_entries_are_shared_between_clients(redis_url: str, redis_prefix: str) -> None:
    writer, reader = redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)
    try:
        RedisLookupCache(writer, redis_prefix, TTLS).put("ipreg", "192.0.2.1", "Example Net")
        hit = RedisLookupCache(reader, redis_prefix, TTLS).get("ipreg", "192.0.2.1")
        assert hit is not None and hit.value == "Example Net"
    finally:
        writer.close()
        reader.close()


def test_memory_sweeps_expired_entries_when_it_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.registrydata.cache.memory as memory

    monkeypatch.setattr(memory, "SWEEP_ABOVE", 10)
    clock = FakeClock()
    cache = MemoryLookupCache(TTLS, clock=clock)
    for i in range(10):
        cache.put("domain", f"d{i}.example", None, negative=True)
    clock.now += 61
    cache.put("domain", "live.example", SNAPSHOT)
    cache.put("domain", "live2.example", SNAPSHOT)
    assert len(cache._entries) == 2


# --- construction ---------------------------------------------------------------------------------------
def test_built_from_the_url(redis_url: str, redis_prefix: str) -> None:
    memory = cache_from_url("memory://", redis_prefix)
    assert isinstance(memory, MemoryLookupCache) and memory.ttls == CacheTTLs()
    cache = cache_from_url(redis_url, redis_prefix, TTLS)
    assert isinstance(cache, RedisLookupCache)
    connection = connect(redis_url)
    assert isinstance(connection, RedisConnection)
    assert cache.client is connection.client  # the process's one pool for that URL
    assert cache.ttls == TTLS
    with pytest.raises(ConfigError) as info:
        cache_from_url("http://user:hunter2@cache/", redis_prefix)
    assert info.value.variable == "REGQ_REDIS_URL" and "hunter2" not in str(info.value)


def test_ttls_from_settings_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_LOOKUP_DOMAIN_TTL_SECONDS", "120")
    monkeypatch.setenv("REGQ_LOOKUP_NEGATIVE_TTL_SECONDS", "7.5")
    ttls = CacheTTLs.from_settings(load_settings())
    assert (ttls.domain, ttls.ns, ttls.ipreg, ttls.negative) == (120, 3600, 86400, 7.5)
    monkeypatch.setenv("REGQ_LOOKUP_NS_TTL_SECONDS", "0")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.variable == "REGQ_LOOKUP_NS_TTL_SECONDS"
    with pytest.raises(ValueError):
        CacheTTLs(negative=0)
