"""The ``owner_change`` job kind (issue 20): validated per registrar (ROTLD needs the registrant's key and
a Romanian-valid owner; Gandi takes no key and no period), keyed by domain and new owner, routed to the
registrar's queue, in ``regq schema``; its auth code never shows (errors, params hash) yet is stored for
the worker until scrubbed."""

from __future__ import annotations

import json
from typing import Any

from shared.jobs import SCRUBBED, JobKind, OwnerChangeJob, derive_key, job_schema, parse_job
from shared.store import Store
from tasks.registrar import owner_change as owner_change_task
from tasks.routing import queue_for
from testkit.factories import person, refusals

CODE = "Xq7pL2vR9zK4w"


def change(domain: str = "example.ro", **overrides: Any) -> dict[str, Any]:
    ro = domain.endswith(".ro")
    data: dict[str, Any] = {"kind": "owner_change", "domain": domain, "owner": person("RO" if ro else "FR")}
    if ro:
        data["auth_code"] = CODE
    return {**data, **overrides}


def test_both_registrars_parse_with_their_own_rules() -> None:
    ro = parse_job(change(years=3))
    assert isinstance(ro, OwnerChangeJob) and ro.registrar == "rotld" and ro.years == 3
    assert ro.auth_code is not None and ro.auth_code.get_secret_value() == CODE
    com = parse_job(change("example.com"))
    assert isinstance(com, OwnerChangeJob) and com.registrar == "gandi" and com.auth_code is None


def test_refusals_name_the_field_and_the_reason() -> None:
    assert "required for a rotld owner change" in refusals(change(auth_code=None), CODE)["auth_code"]
    assert "takes no auth code" in refusals(change("example.com", auth_code=CODE), CODE)["auth_code"]
    assert "takes no period" in refusals(change("example.com", years=2), CODE)["years"]
    assert (
        refusals(change(auth_code="has space"), CODE)["auth_code"]
        == "must be printable characters without spaces"
    )
    no_cnp = {k: v for k, v in person("RO").items() if k != "cnp"}  # checked like a register's owner
    assert "required for a Romanian person" in refusals(change(owner=no_cnp), CODE)["owner.cnp"]
    assert "owner" in refusals({"kind": "owner_change", "domain": "example.com"}, CODE)


def test_the_key_covers_domain_and_new_owner_and_the_hash_never_the_code() -> None:
    job = parse_job(change())
    assert isinstance(job, OwnerChangeJob)
    key = derive_key(job)
    assert key.startswith("owner_change:example.ro:") and key == derive_key(parse_job(change()))
    other = parse_job(change(owner=person("RO", email="someone.else@example.ro")))
    assert derive_key(other) != key
    params = job.params()
    assert "auth_code" not in params and params["auth_code_sha256"] and CODE not in json.dumps(params)
    assert job.stored_params()["auth_code"] == CODE
    gandi = parse_job(change("example.com"))
    assert "auth_code_sha256" not in gandi.params() and gandi.stored_params()["auth_code"] is None


def test_a_scrubbed_job_still_parses_and_says_so(sqlite_store: Store) -> None:
    job = parse_job(change())
    key = derive_key(job)
    sqlite_store.jobs.create(key, job)
    assert sqlite_store.jobs.require(key).params["auth_code"] == CODE
    assert sqlite_store.jobs.scrub_params(key, ("auth_code",), SCRUBBED)
    again = parse_job({**sqlite_store.jobs.require(key).params, "idempotency_key": key})
    assert isinstance(again, OwnerChangeJob) and again.scrubbed


def test_routed_to_the_registrar_queue_and_in_the_schema() -> None:
    assert JobKind.OWNER_CHANGE.value == "owner_change"
    assert queue_for("owner_change", "rotld") == "registrar.rotld"
    assert owner_change_task.name == "regq.owner_change"
    schema = json.dumps(job_schema())
    assert '"owner_change"' in schema and "domain-trade" in schema
