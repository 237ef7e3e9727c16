"""The TLD catalogue (issue 18): which registrar sells which TLD, special-use and restricted names refused,
overrides, the fleet's copy of Gandi's list (memory and Redis) and its refresh from the sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from celeryconfig import beat_schedule
from sandbox.stack import Sandbox
from shared.audit import MemoryAudit
from shared.errors import ConfigError, JobValidationError
from shared.gateways import gateway_for
from shared.gateways.gandi import GandiGateway
from shared.jobs import RegisterJob, parse_job
from shared.names import DomainName, Registrar, parse_domain
from shared.settings import load_settings
from shared.store import Store
from shared.tlds import (
    TLD_STORES,
    NotSold,
    Overrides,
    RedisTldStore,
    StoredList,
    TldCatalogue,
    TldList,
    TldSource,
    TldStore,
    build_catalogue,
    default_catalogue,
    overrides_from,
    packaged_snapshot,
    registrar_for,
)
from shared.tlds.refresh import refresh_tlds
from shared.upstream import CallPolicy
from tasks import runtime
from tasks.producer import producer_app
from tasks.publish import submit
from tasks.routing import queue_for
from testkit.factories import register

SNAPSHOT = build_catalogue(packaged_snapshot())
TOKEN = "tld-token"


def refused(domain: str, tlds: TldCatalogue | None = None, **fields: object) -> JobValidationError:
    with pytest.raises(JobValidationError) as caught:
        parse_job(register(domain, **fields), tlds=tlds)
    return caught.value


def only_problem(error: JobValidationError) -> tuple[str, str]:
    (problem,) = error.problems
    return problem.field, problem.reason


@pytest.fixture(autouse=True)
def _snapshot_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's default catalogue reads no fleet copy unless a test names a Redis."""
    for name in ("REGQ_REDIS_URL", "REGQ_TLDS_EXTRA", "REGQ_TLDS_DENY"):
        monkeypatch.delenv(name, raising=False)


# --- what is refused --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "rfc"),
    [("something.onion", "RFC 7686"), ("x.in-addr.arpa", "RFC 3172"), ("x.home.arpa", "RFC 3172")],
)
def test_special_use_names_are_refused_naming_domain_and_the_rfc(domain: str, rfc: str) -> None:
    field, reason = only_problem(refused(domain))
    assert field == "domain"
    assert "is not supported" in reason and "special-use" in reason and rfc in reason


@pytest.mark.parametrize(
    ("tld", "rfc"),
    [
        ("test", "RFC 6761"),
        ("localhost", "RFC 6761"),
        ("invalid", "RFC 6761"),
        ("example", "RFC 6761"),
        ("local", "RFC 6762"),
        ("onion", "RFC 7686"),
        ("alt", "RFC 9476"),
        ("arpa", "RFC 3172"),
    ],
)
def test_every_special_use_tld_is_refused_whatever_the_overrides_say(tld: str, rfc: str) -> None:
    # tldextract knows no public suffix .test/.local/...: such a name is built by hand here
    name = DomainName(ascii=f"x.{tld}", unicode=f"x.{tld}", suffix=tld, registrable=f"x.{tld}")
    forced = build_catalogue(packaged_snapshot(), Overrides({tld: Registrar.GANDI}))
    for catalogue in (SNAPSHOT, forced):
        with pytest.raises(NotSold) as caught:
            catalogue.registrar_for(name)
        assert rfc in str(caught.value) and caught.value.tld == tld
    assert tld not in forced
    with pytest.raises(ConfigError) as config:
        load_settings(tlds_extra=f"gandi:{tld}")
    assert config.value.variable == "REGQ_TLDS_EXTRA" and "special-use" in config.value.reason


@pytest.mark.parametrize(
    ("domain", "who"),
    [
        ("agency.gov", "US government"),
        ("army.mil", "Department of Defense"),
        ("treaty.int", "international treaty"),
        ("college.edu", "post-secondary"),
    ],
)
def test_restricted_tlds_are_refused_with_their_rule(domain: str, who: str) -> None:
    field, reason = only_problem(refused(domain))
    assert field == "domain" and who in reason and "no registrar sells it" in reason


@pytest.mark.parametrize("domain", ["пример.рф", "xn--e1afmkfd.xn--p1ai", "a.xn--fiqs8s", "例子.中国"])
def test_idn_cctlds_are_refused(domain: str) -> None:
    field, reason = only_problem(refused(domain))
    assert field == "domain" and "is not supported" in reason
    assert "(xn--p1ai)" in reason or "(xn--fiqs8s)" in reason  # the U-label and the A-label


@pytest.mark.parametrize("domain", ["nope.de", "x.co.uk", "x.io", "x.fr"])
def test_cctlds_gandi_lists_but_regq_does_not_route_are_refused(domain: str) -> None:
    field, reason = only_problem(refused(domain))
    assert field == "domain" and "is not supported" in reason and "gandi:" in reason and ".eu" in reason


# --- what is sold, and by whom ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "registrar"),
    [
        ("example.com", "gandi"),
        ("shop.xyz", "gandi"),
        ("new.app", "gandi"),
        ("ελληνικά.eu", "gandi"),
        ("exemplu.ro", "rotld"),
        ("firma.com.ro", "rotld"),  # a second level under .ro: its public suffix is matched through .ro
        ("пример.онлайн", "gandi"),  # an IDN gTLD on Gandi's list
    ],
)
def test_sold_tlds_are_routed_to_their_registrar(domain: str, registrar: str) -> None:
    job = parse_job(register(domain))
    assert job.registrar == registrar  # type: ignore[union-attr]
    assert queue_for("register", registrar) == f"registrar.{registrar}"
    assert registrar_for(parse_domain(domain), SNAPSHOT).value == registrar


def test_a_given_registrar_must_agree_with_the_catalogue() -> None:
    field, reason = only_problem(refused("x.ro", registrar="gandi"))
    assert field == "registrar" and "rotld" in reason


def test_lookups_are_not_held_to_the_catalogue() -> None:
    for domain in ("something.onion", "agency.gov", "пример.рф", "google.de"):
        assert parse_job({"kind": "lookup", "domain": domain}).kind == "lookup"


def test_the_snapshot_is_dated_and_covers_what_the_tests_and_demo_use() -> None:
    snapshot = packaged_snapshot()
    assert snapshot.source == "packaged snapshot" and snapshot.as_of == "2026-12-07"
    assert "not a recorded Gandi answer" in snapshot.note
    for tld in ("com", "net", "org", "info", "dev", "app", "xyz"):  # workers/demo.py, bench, tests
        assert SNAPSHOT.sold[tld] is Registrar.GANDI
    assert SNAPSHOT.sold["eu"] is Registrar.GANDI and SNAPSHOT.sold["ro"] is Registrar.ROTLD
    assert "de" in snapshot.names("ccTLD") and "de" not in SNAPSHOT  # listed, not routed (policy)
    assert not {"gov", "mil", "int", "edu"} & set(SNAPSHOT.sold)


# --- operator overrides -------------------------------------------------------------------------------
def test_overrides_add_and_remove_tlds() -> None:
    settings = load_settings(tlds_extra="gandi:de, gandi:ΕΛ", tlds_deny="xyz")
    assert settings.tlds_extra == {"de": "gandi", "xn--qxam": "gandi"} and settings.tlds_deny == ("xyz",)
    catalogue = build_catalogue(packaged_snapshot(), overrides_from(settings))
    assert parse_job(register("nope.de"), tlds=catalogue).registrar is Registrar.GANDI  # type: ignore[union-attr]
    field, reason = only_problem(refused("shop.xyz", tlds=catalogue))
    assert field == "domain" and "not sold through regq" in reason
    assert "with 2 added and 1 denied by the operator" in catalogue.origin


def test_the_default_catalogue_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_job(register("shop.xyz")).registrar is Registrar.GANDI  # type: ignore[union-attr]
    monkeypatch.setenv("REGQ_TLDS_DENY", "xyz")
    monkeypatch.setenv("REGQ_TLDS_EXTRA", "gandi:de")
    assert "xyz" not in default_catalogue() and default_catalogue().sold["de"] is Registrar.GANDI
    assert only_problem(refused("shop.xyz"))[0] == "domain"
    assert parse_job(register("nope.de")).registrar is Registrar.GANDI  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("extra", "deny", "variable", "says"),
    [
        ("gandi", "", "REGQ_TLDS_EXTRA", "registrar:tld"),
        ("namecheap:xyz", "", "REGQ_TLDS_EXTRA", "unknown registrar"),
        ("gandi:xyz,rotld:xyz", "", "REGQ_TLDS_EXTRA", "two registrars"),
        ("gandi:-bad-", "", "REGQ_TLDS_EXTRA", "not a TLD"),
        ("gandi:de", "de", "REGQ_TLDS_DENY", "also in REGQ_TLDS_EXTRA"),
    ],
)
def test_bad_overrides_are_config_errors(extra: str, deny: str, variable: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tlds_extra=extra, tlds_deny=deny)
    assert caught.value.variable == variable and says in caught.value.reason


def test_a_validation_context_carries_the_callers_catalogue() -> None:
    tiny = build_catalogue(TldList("gandi", {"gTLD": ("com",)}, "test", "now"), rotld=())
    data = register("exemplu.ro")
    with pytest.raises(ValueError, match="TLD .ro is not supported"):
        RegisterJob.model_validate(data, context={"tlds": tiny})
    assert RegisterJob.model_validate(data).registrar is Registrar.ROTLD
    assert only_problem(refused("exemplu.ro", tlds=tiny))[0] == "domain"


# --- the fleet's copy: both backends ------------------------------------------------------------------
@pytest.fixture(params=["memory", "redis"])
def fleet(request: pytest.FixtureRequest) -> Iterator[TldStore]:
    if request.param == "memory":
        yield TLD_STORES.from_url("memory://", "unused")
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    yield TLD_STORES.from_url(url, prefix)


def listing(gtlds: list[str], cctlds: tuple[str, ...] = ("eu", "de")) -> TldList:
    return TldList("gandi", {"gTLD": tuple(gtlds), "ccTLD": cctlds}, "https://gandi.test/v5/domain/tlds", "t")


def test_the_fleet_copy_round_trips_and_a_damaged_one_is_none(fleet: TldStore) -> None:
    assert fleet.load("gandi") is None
    stored = StoredList(listing(["com", "music"]), 1234.5)
    fleet.save("gandi", stored)
    assert fleet.load("gandi") == stored
    if isinstance(fleet, RedisTldStore):
        fleet.client.set(fleet.key("gandi"), b"{not json")
    else:
        fleet._values["gandi"] = "[]"  # type: ignore[attr-defined]
    assert fleet.load("gandi") is None


def test_a_source_switches_to_the_fleet_copy_after_its_recheck(fleet: TldStore) -> None:
    now = [0.0]
    source = TldSource(fleet, recheck_seconds=300, clock=lambda: now[0])
    assert source.current().sold["xyz"] is Registrar.GANDI and "music" not in source.current()
    fleet.save("gandi", StoredList(listing(["com", "music"]), 1.0))
    now[0] = 299.0
    assert "music" not in source.current()  # not looked at again yet
    now[0] = 300.0
    catalogue = source.current()
    assert catalogue.sold["music"] is Registrar.GANDI and "xyz" not in catalogue
    assert catalogue.sold["eu"] is Registrar.GANDI and "de" not in catalogue  # the policy holds
    assert catalogue.sold["ro"] is Registrar.ROTLD  # ROTLD's own, whatever Gandi lists
    now[0] = 600.0
    assert source.current() is catalogue  # the same list: the same catalogue


def test_an_unreachable_redis_keeps_the_catalogue_in_use() -> None:
    dead = RedisTldStore(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), "x")
    now = [0.0]
    source = TldSource(dead, recheck_seconds=1, clock=lambda: now[0])
    assert source.current().sold["com"] is Registrar.GANDI  # the snapshot, no error
    now[0] = 5.0
    assert source.current().sold["com"] is Registrar.GANDI


def test_the_default_catalogue_reads_the_fleet_copy(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    TLD_STORES.from_url(redis_url, redis_prefix).save("gandi", StoredList(listing(["com", "music"]), 1.0))
    monkeypatch.setenv("REGQ_REDIS_URL", redis_url)
    monkeypatch.setenv("REGQ_REDIS_PREFIX", redis_prefix)
    assert parse_job(register("band.music")).registrar is Registrar.GANDI  # type: ignore[union-attr]
    assert only_problem(refused("shop.xyz"))[0] == "domain"


# --- the refresh: sandbox -> gateway -> fleet copy ----------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_token=TOKEN) as sb:
        yield sb


@pytest.fixture
def gateway(sb: Sandbox) -> Iterator[GandiGateway]:
    settings = load_settings(gandi_api_url=sb.gandi_url, gandi_token=TOKEN, outbound_allow_private=True)
    gw = gateway_for("gandi", settings, MemoryAudit())
    assert isinstance(gw, GandiGateway)
    yield gw
    gw.close()


def refresh(gateway: GandiGateway, store: TldStore) -> dict[str, object]:
    policy = CallPolicy()
    return refresh_tlds(lambda c: gateway.tlds(policy, c), store, source="sandbox", clock=lambda: 0.0)


def test_the_gateway_reads_every_page_of_the_list(sb: Sandbox, gateway: GandiGateway) -> None:
    gtlds = gateway.tlds(CallPolicy(), "gTLD")
    assert gtlds == list(packaged_snapshot().names("gTLD"))
    pages = -(-len(gtlds) // 100)  # GANDI_TLDS_PER_PAGE
    assert sb.stats("gandi")["by_operation"]["tlds"] == pages
    assert set(gateway.tlds(CallPolicy())) == set(gtlds) | set(packaged_snapshot().names("ccTLD"))


def test_refresh_from_the_sandbox_updates_the_fleet_copy(
    sb: Sandbox, gateway: GandiGateway, fleet: TldStore
) -> None:
    sold = {"gTLD": [*packaged_snapshot().names("gTLD"), "music"], "ccTLD": ["eu", "de", "ro"]}
    sold["gTLD"].remove("xyz")
    sb.gandi_server.provider.tlds = sold  # type: ignore[attr-defined]
    report = refresh(gateway, fleet)
    assert report == {"gandi": "refreshed", "gTLD": len(sold["gTLD"]), "ccTLD": 3}
    stored = fleet.load("gandi")
    assert stored is not None and stored.listing.source == "sandbox"
    catalogue = TldSource(fleet).current()
    assert parse_job(register("band.music"), tlds=catalogue).registrar is Registrar.GANDI  # type: ignore[union-attr]
    assert only_problem(refused("shop.xyz", tlds=catalogue))[0] == "domain"
    assert only_problem(refused("something.onion", tlds=catalogue))[0] == "domain"


@pytest.mark.parametrize(
    ("served", "why"),
    [
        ({"gTLD": ["com", "net"], "ccTLD": ["eu"]}, "partial answer"),
        ({"gTLD": [f"x{i}" for i in range(150)], "ccTLD": []}, ".com is not among"),
    ],
)
def test_a_partial_list_is_not_stored(
    sb: Sandbox, gateway: GandiGateway, fleet: TldStore, served: dict[str, list[str]], why: str
) -> None:
    fleet.save("gandi", StoredList(listing(["com", "music"]), 1.0))
    sb.gandi_server.provider.tlds = served  # type: ignore[attr-defined]
    report = refresh(gateway, fleet)
    assert str(report["gandi"]).startswith("failed:") and why in str(report["gandi"])
    kept = fleet.load("gandi")
    assert kept is not None and kept.listing.names("gTLD") == ("com", "music")


def test_a_failing_gandi_keeps_the_previous_list(sb: Sandbox, gateway: GandiGateway, fleet: TldStore) -> None:
    sb.set_faults("gandi", [{"operation": "tlds", "kind": "status", "status": 403}])
    report = refresh(gateway, fleet)
    assert str(report["gandi"]).startswith("failed:") and fleet.load("gandi") is None


# --- the beat entry and the task ------------------------------------------------------------------------
def test_the_beat_refreshes_the_list_daily_on_the_maintenance_queue() -> None:
    entry = beat_schedule(load_settings())["daily-tld-list-refresh"]
    assert entry["task"] == "regq.tlds_refresh"
    assert entry["schedule"].hour == {5} and entry["schedule"].minute == {10}
    assert entry["schedule"].day_of_week == set(range(7))
    assert queue_for("tlds_refresh", None) == "maintenance"


def test_the_task_stores_gandis_list_in_the_fleets_redis(
    sb: Sandbox, redis_url: str, redis_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.maintenance import tlds_refresh

    for name, value in {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_REDIS_PREFIX": redis_prefix,
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
        "REGQ_GANDI_API_URL": sb.gandi_url,
        "REGQ_GANDI_TOKEN": TOKEN,
        "REGQ_OUTBOUND_ALLOW_PRIVATE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    current = runtime.get()
    current.store.upgrade()
    try:
        report = tlds_refresh()
    finally:
        current.close()
    snapshot = packaged_snapshot()
    assert report == {"gandi": "refreshed", "gTLD": len(snapshot.names("gTLD")), "ccTLD": 77}
    assert redis.Redis.from_url(redis_url).exists(f"{redis_prefix}:tlds:gandi")
    audit = Store(f"sqlite:///{tmp_path / 't.db'}")
    try:
        calls = audit.audit.calls()
        assert {c.operation for c in calls} == {"tlds"} and {c.path for c in calls} == {"/v5/domain/tlds"}
    finally:
        audit.dispose()


def test_the_task_says_why_it_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.maintenance import tlds_refresh

    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("REGQ_REDIS_URL", "memory://")
    monkeypatch.delenv("REGQ_GANDI_TOKEN", raising=False)
    current = runtime.get()
    try:
        assert tlds_refresh() == {"gandi": "skipped: REGQ_GANDI_TOKEN: required for the gandi gateway"}
    finally:
        current.close()


# --- submit -------------------------------------------------------------------------------------------
def test_submitting_a_special_use_name_writes_and_publishes_nothing(
    store: Store, redis_url: str, redis_prefix: str
) -> None:
    app = producer_app(load_settings(redis_url=redis_url, broker_key_prefix=f"{redis_prefix}:"))
    client = redis.Redis.from_url(redis_url)
    try:
        with pytest.raises(JobValidationError) as caught:
            submit(parse_job(register("something.onion")), store=store, app=app)
        assert [p.field for p in caught.value.problems] == ["domain"]
        assert "RFC 7686" in str(caught.value)
        assert store.jobs.counts() == {}
        assert not list(client.scan_iter(match=f"{redis_prefix}:*"))  # no message either
        accepted = submit(parse_job(register(f"fine-{uuid.uuid4().hex[:6]}.com")), store=store, app=app)
        assert accepted.registrar == "gandi" and sum(store.jobs.counts().values()) == 1
    finally:
        app.close()
        client.close()
