"""The day-2 job kinds (issue 20): transfer, lock, contacts, glue, and the nameserver limits. Every refusal
names its field; keys are derived as the contract says; a transfer's auth code never shows (repr, str,
errors, the params hash, the broker message) yet reaches the worker through the stored params."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import IdempotencyConflict
from shared.jobs import (
    SCRUBBED,
    ContactsJob,
    GlueJob,
    JobKind,
    LockJob,
    TransferJob,
    derive_key,
    job_schema,
    parse_job,
)
from shared.store import Store
from tasks.routing import queue_for
from testkit.factories import company_ro, person, refusals

CODE = "Xq7#pL2!vR9$zK4w"


def transfer(domain: str = "example.com", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "transfer", "domain": domain, "auth_code": CODE}
    if domain.endswith(".com"):
        data["owner"] = person()
    return {**data, **overrides}


# --- valid jobs ------------------------------------------------------------------------------------------
def test_every_day2_kind_parses_with_its_registrar_inferred() -> None:
    gandi = parse_job(transfer(years=2, nameservers=["NS1.Example.NET", "ns2.example.net"]))
    assert isinstance(gandi, TransferJob) and gandi.registrar == "gandi" and gandi.years == 2
    assert gandi.nameservers == ["ns1.example.net", "ns2.example.net"]
    assert gandi.auth_code.get_secret_value() == CODE and not gandi.scrubbed
    rotld = parse_job(transfer("exemplu.ro"))
    assert isinstance(rotld, TransferJob) and rotld.registrar == "rotld" and rotld.owner is None
    assert parse_job(transfer("exemplu.ro", owner=person("RO"))).registrar == "rotld"  # accepted, ignored
    lock = parse_job({"kind": "lock", "domain": "exemplu.ro", "locked": False})
    assert isinstance(lock, LockJob) and lock.locked is False and "years" not in lock.params()
    contacts = parse_job({"kind": "contacts", "domain": "example.com", "tech": person(), "bill": person()})
    assert isinstance(contacts, ContactsJob) and set(contacts.contacts) == {"bill", "tech"}
    owner = parse_job({"kind": "contacts", "domain": "firma.ro", "owner": company_ro()})
    assert isinstance(owner, ContactsJob) and set(owner.contacts) == {"owner"}
    glue = parse_job(
        {
            "kind": "glue",
            "domain": "example.com",
            "hosts": {"NS1.example.com": ["9.9.9.9", "8.8.8.8", "8.8.8.8"]},
            "delete": ["ns2.example.com"],
        }
    )
    assert isinstance(glue, GlueJob)
    assert glue.hosts == {"ns1.example.com": ["8.8.8.8", "9.9.9.9"]} and glue.delete == ["ns2.example.com"]


def test_the_new_kinds_are_in_the_enum_the_schema_and_the_registrar_queues() -> None:
    assert {"transfer", "lock", "contacts", "glue"} <= {k.value for k in JobKind}
    text = json.dumps(job_schema())
    for model in ("TransferJob", "LockJob", "ContactsJob", "GlueJob"):
        assert model in text
    for kind in ("transfer", "lock", "contacts", "glue"):
        assert queue_for(kind, "rotld") == "registrar.rotld"
        assert queue_for(kind, "gandi") == "registrar.gandi"


# --- refusals ------------------------------------------------------------------------------------------
def glue(domain: str = "example.com", **fields: Any) -> dict[str, Any]:
    return {"kind": "glue", "domain": domain, **fields}


def nameservers(domain: str, hosts: list[str]) -> dict[str, Any]:
    return {"kind": "nameservers", "domain": domain, "nameservers": hosts}


def lock(domain: str = "example.com", **fields: Any) -> dict[str, Any]:
    return {"kind": "lock", "domain": domain, **fields}


def contacts(domain: str = "example.com", **fields: Any) -> dict[str, Any]:
    return {"kind": "contacts", "domain": domain, **fields}


SEVEN = [f"ns{i}.x.net" for i in range(7)]
NS1 = "ns1.example.com"
THREE = ["8.8.8.8", "8.8.4.4", "1.1.1.1"]


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (transfer(auth_code=""), "auth_code", "must not be empty"),
        (transfer(auth_code="   "), "auth_code", "must not be empty"),
        (transfer(auth_code="two words"), "auth_code", "without spaces"),
        (transfer(auth_code="tab\there"), "auth_code", "without spaces"),
        (transfer(auth_code="x" * 256), "auth_code", "at most 255"),
        (transfer(auth_code=12345), "auth_code", "must be a string"),
        ({"kind": "transfer", "domain": "example.com", "owner": person()}, "auth_code", "required"),
        (transfer(owner=None), "owner", "required for a gandi transfer"),
        (transfer("exemplu.ro", admin=person()), "admin", "rotld keeps only the registrant"),
        (transfer("exemplu.ro", tech=person()), "tech", "rotld keeps only the registrant"),
        (transfer(years=11), "years", "less than or equal to 10"),
        (transfer(years=True), "years", "not true or false"),
        (transfer(nameservers=[NS1]), "nameservers.0", "needs glue"),
        (transfer(nameservers=["a.example.net", "A.example.net"]), "nameservers.1", "repeated"),
        (transfer("exemplu.ro", nameservers=SEVEN), "nameservers", "rotld takes 6"),
        (transfer(surprise=1), "surprise", "Extra inputs"),
        (lock(), "locked", "required"),
        (lock(locked="yes"), "locked", "boolean"),
        (lock(locked=True, years=1), "years", "Extra inputs"),
        (lock("www.example.com", locked=True), "domain", "not a registrable"),
        (contacts(), "admin", "at least one of admin, bill, tech"),
        (contacts(owner=person()), "owner", "its own kind"),
        (contacts("exemplu.ro", admin=person("RO")), "admin", "rotld keeps only"),
        (contacts("exemplu.ro", bill=person("RO")), "bill", "rotld keeps only"),
        (contacts("exemplu.ro"), "owner", "required"),
        (contacts(tech=person(email="x")), "tech.email", "e-mail"),
        (glue(), "hosts", "give hosts to set or delete"),
        (glue(hosts={"ns1.other.net": ["8.8.8.8"]}), "hosts.ns1.other.net", "not a host under"),
        (glue(hosts={"example.com": ["8.8.8.8"]}), "hosts.example.com", "not a host under"),
        (glue(hosts={NS1: []}), f"hosts.{NS1}", "give 1 to 13"),
        (glue(hosts={NS1: ["10.0.0.1"]}), f"hosts.{NS1}", "not a public"),
        (glue(hosts={NS1: ["nope"]}), f"hosts.{NS1}", "not an IPv4"),
        (glue("exemplu.ro", hosts={"n.exemplu.ro": THREE}), "hosts.n.exemplu.ro", "rotld takes 1 to 2"),
        (glue(delete=["ns1.other.net"]), "delete.0", "not a host under"),
        (glue(delete=[NS1, NS1.upper()]), "delete.1", "repeated"),
        (glue(hosts={NS1: ["8.8.8.8"]}, delete=[NS1]), "delete.0", "not both"),
        (nameservers("exemplu.ro", SEVEN), "nameservers", "rotld takes 6"),
        (nameservers("example.com", [f"ns{i}.x.net" for i in range(14)]), "nameservers", "at most 13"),
        (nameservers("example.com", ["a.x.net", "b.x.net", "a.x.net"]), "nameservers.2", "repeated"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field(data: dict[str, Any], field: str, fragment: str) -> None:
    found = refusals(data, CODE)
    assert field in found, found
    assert fragment in found[field], found


def test_six_nameservers_are_fine_for_rotld_and_thirteen_for_gandi() -> None:
    six = [f"ns{i}.x.net" for i in range(6)]
    assert parse_job({"kind": "nameservers", "domain": "exemplu.ro", "nameservers": six}).nameservers == six
    thirteen = [f"ns{i}.x.net" for i in range(13)]
    assert (
        len(parse_job({"kind": "nameservers", "domain": "example.com", "nameservers": thirteen}).nameservers)
        == 13
    )


# --- keys ----------------------------------------------------------------------------------------------
def test_keys_are_derived_per_kind() -> None:
    assert derive_key(parse_job(transfer())) == "transfer:example.com"
    assert derive_key(parse_job(transfer(idempotency_key="mine"))) == "mine"
    on = parse_job({"kind": "lock", "domain": "exemplu.ro", "locked": True})
    first, second = derive_key(on), derive_key(on)
    assert re.fullmatch(r"lock:exemplu\.ro:on:[0-9a-f]{32}", first) and first != second  # fresh each time
    off = parse_job({"kind": "lock", "domain": "exemplu.ro", "locked": False})
    assert derive_key(off).startswith("lock:exemplu.ro:off:")
    contacts = parse_job({"kind": "contacts", "domain": "example.com", "tech": person()})
    assert derive_key(contacts) == f"contacts:example.com:{contacts.params_hash()[:12]}"
    other = parse_job({"kind": "contacts", "domain": "example.com", "admin": person()})
    assert derive_key(other) != derive_key(contacts)
    glue = parse_job({"kind": "glue", "domain": "example.com", "delete": ["ns9.example.com"]})
    assert derive_key(glue) == f"glue:example.com:{glue.params_hash()[:12]}"


# --- the auth code -------------------------------------------------------------------------------------
def test_the_auth_code_never_shows_in_repr_str_dumps_or_the_params() -> None:
    job = parse_job(transfer())
    for text in (repr(job), str(job), job.model_dump_json(), json.dumps(job.params()), repr(job.auth_code)):
        assert CODE not in text
    assert "auth_code" not in job.params()
    assert CODE not in job.params_hash()


def test_a_refusal_from_the_model_itself_never_shows_the_code() -> None:
    bad = "has space" + CODE
    with pytest.raises(ValidationError) as info:
        TransferJob(domain="example.com", auth_code=bad, owner=person())  # type: ignore[arg-type]
    assert CODE not in str(info.value)  # hide_input_in_errors (errors() keeps the input: never logged)
    with pytest.raises(ValidationError) as other:  # another field's error does not echo the input either
        TransferJob(domain="example.com", auth_code=CODE, owner=person(), years=99)  # type: ignore[arg-type]
    assert CODE not in str(other.value)


def test_the_params_hash_covers_the_code_by_its_digest() -> None:
    same = parse_job(transfer()), parse_job(transfer(auth_code=f"  {CODE}\n"))
    other = parse_job(transfer(auth_code=CODE + "x"))
    assert same[0].params_hash() == same[1].params_hash() != other.params_hash()
    assert "auth_code_sha256" in same[0].params()


def test_the_stored_params_carry_the_code_and_parse_back(sqlite_store: Store) -> None:
    job = parse_job(transfer())
    key = derive_key(job)
    record, created = sqlite_store.jobs.create(key, job)
    assert created and record.params["auth_code"] == CODE
    assert "auth_code_sha256" not in record.params
    # the runner's re-parse (shared/execution/runner.py) and TransferJob.from_stored give the same job
    back = parse_job({**record.params, "idempotency_key": record.key})
    assert isinstance(back, TransferJob) and back.auth_code.get_secret_value() == CODE
    assert back.params_hash() == job.params_hash()
    assert TransferJob.from_stored(record.params, key).idempotency_key == key
    # the same code again is the same job; another code under the same key is a conflict
    assert sqlite_store.jobs.create(key, parse_job(transfer()))[1] is False
    with pytest.raises(IdempotencyConflict) as info:
        sqlite_store.jobs.create(key, parse_job(transfer(auth_code="another-code")))
    assert "another-code" not in str(info.value)


def test_a_scrubbed_code_still_parses_and_a_resubmission_stays_a_duplicate(sqlite_store: Store) -> None:
    job = parse_job(transfer())
    key = derive_key(job)
    sqlite_store.jobs.create(key, job)
    assert sqlite_store.jobs.scrub_params(key, ["auth_code"])
    record = sqlite_store.jobs.get(key)
    assert record is not None and record.params["auth_code"] == SCRUBBED
    back = parse_job({**record.params, "idempotency_key": record.key})
    assert isinstance(back, TransferJob) and back.scrubbed
    # the hash kept the real code's digest
    assert sqlite_store.jobs.create(key, parse_job(transfer()))[1] is False


def test_the_bulk_path_stores_the_code_too(sqlite_store: Store) -> None:
    jobs = [parse_job(transfer()), parse_job(transfer("exemplu.ro"))]
    answers = sqlite_store.jobs.create_many([(derive_key(j), j) for j in jobs])
    for answer in answers:
        assert isinstance(answer, tuple)
        assert answer[0].params["auth_code"] == CODE
