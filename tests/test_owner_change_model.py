"""The ``owner_change`` job kind (issue 20): validated per registrar (ROTLD needs the registrant's key and
a Romanian-valid owner; Gandi takes no key and no period), keyed by domain and new owner, routed to the
registrar's queue, in ``regq schema``; its auth code never shows (errors, params hash) yet is stored for
the worker until scrubbed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.errors import JobValidationError
from shared.jobs import SCRUBBED, JobKind, OwnerChangeJob, derive_key, job_schema, parse_job
from shared.store import Store
from tasks.registrar import owner_change as owner_change_task
from tasks.routing import queue_for
from testkit.factories import person

CODE = "Xq7pL2vR9zK4w"


def change(domain: str = "example.ro", **overrides: Any) -> dict[str, Any]:
    ro = domain.endswith(".ro")
    data: dict[str, Any] = {"kind": "owner_change", "domain": domain, "owner": person("RO" if ro else "FR")}
    if ro:
        data["auth_code"] = CODE
    return {**data, **overrides}


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(JobValidationError) as info:
        parse_job(data)
    assert CODE not in str(info.value)
    return {p.field: p.reason for p in info.value.problems}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'regq.db'}")
    s.upgrade()
    yield s
    s.dispose()


def test_both_registrars_parse_with_their_own_rules() -> None:
    ro = parse_job(change(years=3))
    assert isinstance(ro, OwnerChangeJob) and ro.registrar == "rotld" and ro.years == 3
    assert ro.auth_code is not None and ro.auth_code.get_secret_value() == CODE
    com = parse_job(change("example.com"))
    assert isinstance(com, OwnerChangeJob) and com.registrar == "gandi" and com.auth_code is None


def test_refusals_name_the_field_and_the_reason() -> None:
    assert "required for a rotld owner change" in problems(change(auth_code=None))["auth_code"]
    assert "takes no auth code" in problems(change("example.com", auth_code=CODE))["auth_code"]
    assert "takes no period" in problems(change("example.com", years=2))["years"]
    assert (
        problems(change(auth_code="has space"))["auth_code"] == "must be printable characters without spaces"
    )
    no_cnp = {k: v for k, v in person("RO").items() if k != "cnp"}  # checked like a register's owner
    assert "required for a Romanian person" in problems(change(owner=no_cnp))["owner.cnp"]
    assert "owner" in problems({"kind": "owner_change", "domain": "example.com"})


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


def test_a_scrubbed_job_still_parses_and_says_so(store: Store) -> None:
    job = parse_job(change())
    key = derive_key(job)
    store.jobs.create(key, job)
    assert store.jobs.require(key).params["auth_code"] == CODE
    assert store.jobs.scrub_params(key, ("auth_code",), SCRUBBED)
    again = parse_job({**store.jobs.require(key).params, "idempotency_key": key})
    assert isinstance(again, OwnerChangeJob) and again.scrubbed


def test_routed_to_the_registrar_queue_and_in_the_schema() -> None:
    assert JobKind.OWNER_CHANGE.value == "owner_change"
    assert queue_for("owner_change", "rotld") == "registrar.rotld"
    assert owner_change_task.name == "regq.owner_change"
    schema = json.dumps(job_schema())
    assert '"owner_change"' in schema and "domain-trade" in schema
