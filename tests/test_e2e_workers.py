"""End to end with real processes: producer -> Redis broker -> celery worker -> gateway -> sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared.jobs import JobStatus, parse_job
from shared.store import Store
from tasks.publish import submit
from testkit.factories import person, register
from testkit.stacks import running_stack, wait_final
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (
    WorkerGroup("gandi", ("registrar.gandi",), 2),
    WorkerGroup("rotld", ("registrar.rotld",), 1),
    WorkerGroup("misc", ("lookup", "maintenance"), 1),
)


@pytest.fixture(scope="module")
def stack(redis_url: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    store = Store(postgres_url)
    store.upgrade()
    store.dispose()
    with running_stack(
        redis_url, postgres_url, Path(tmp_path_factory.mktemp("stack")), GROUPS, flower=True
    ) as s:
        yield s


def test_register_and_renew_a_com_through_real_workers(stack: Stack, stack_store: Store) -> None:
    producer = stack.producer()
    job = parse_job(register("e2e-first.com", years=2))
    outcome = submit(job, store=stack_store, app=producer)
    assert outcome.status is JobStatus.QUEUED and not outcome.duplicate
    done = wait_final(stack_store, outcome.key)
    assert done.status is JobStatus.SUCCEEDED, done
    expires = date.fromisoformat(done.result["expires_at"])
    assert expires >= date.today() + timedelta(days=2 * 365 - 2)
    assert stack_store.inventory.get("e2e-first.com").expires_at == expires
    # Published twice: answered with the recorded outcome, no second create at the registrar.
    again = submit(job, store=stack_store, app=producer)
    assert again.duplicate and again.status is JobStatus.SUCCEEDED
    assert stack.sandbox.stats("gandi")["effects"]["e2e-first.com"]["create"] == 1
    renew = submit(parse_job({"kind": "renew", "domain": "e2e-first.com"}), store=stack_store, app=producer)
    assert renew.key == f"renew:e2e-first.com:{expires.isoformat()}"
    renewed = wait_final(stack_store, renew.key)
    assert renewed.status is JobStatus.SUCCEEDED, renewed
    assert date.fromisoformat(renewed.result["expires_at"]) >= expires + timedelta(days=364)
    calls = stack_store.audit.calls(job_key=outcome.key)
    assert calls and all(c.provider == "gandi" for c in calls)
    producer.close()


def test_register_and_renew_a_ro_through_real_workers(stack: Stack, stack_store: Store) -> None:
    producer = stack.producer()
    outcome = submit(parse_job(register("e2e-first.ro")), store=stack_store, app=producer)
    done = wait_final(stack_store, outcome.key)
    assert done.status is JobStatus.SUCCEEDED, done
    renew = submit(parse_job({"kind": "renew", "domain": "e2e-first.ro"}), store=stack_store, app=producer)
    renewed = wait_final(stack_store, renew.key)
    assert renewed.status is JobStatus.SUCCEEDED, renewed
    assert renewed.result["expires_at"] > done.result["expires_at"]
    producer.close()


def test_domain_taken_by_someone_else_fails_as_unavailable(stack: Stack, stack_store: Store) -> None:
    stack.sandbox.seed_domains(
        "gandi", [{"fqdn": "e2e-taken.com", "owner": "other", "expires": "2030-01-01"}]
    )
    producer = stack.producer()
    outcome = submit(parse_job(register("e2e-taken.com")), store=stack_store, app=producer)
    done = wait_final(stack_store, outcome.key)
    assert done.status is JobStatus.FAILED and done.error_code == "domain_unavailable", done
    producer.close()


def test_no_secret_or_personal_data_reaches_logs_audit_or_outcomes(stack: Stack, stack_store: Store) -> None:
    import requests
    import sqlalchemy as sa

    producer = stack.producer()
    owner = person("RO", email="ion.secret@example.ro", phone="+40.711222333")
    jobs = [register("e2e-secret.ro", owner=owner), register("e2e-secret.com", owner={**owner, "cnp": None})]
    stack.sandbox.set_faults(
        "gandi",
        [
            {"operation": "create", "kind": "commit_drop", "count": 1},
            # an HTML body where JSON was due (a 403 would now be an auth error, final by policy)
            {"operation": "info", "kind": "non_json", "count": 1},
        ],
    )
    keys = [
        submit(parse_job({k: v for k, v in j.items()}), store=stack_store, app=producer).key for j in jobs
    ]
    for key in keys:
        assert wait_final(stack_store, key).status is JobStatus.SUCCEEDED
    stack.sandbox.clear_faults("gandi")
    settings = stack.settings()
    info = requests.get(
        f"{settings.gandi_api_url}/domain/domains/e2e-secret.com",
        headers={"Authorization": f"Bearer {settings.gandi_token.get_secret_value()}"},
        timeout=5,
    )
    secrets = {
        "gandi token": settings.gandi_token.get_secret_value(),
        "rotld password": settings.rotld_password.get_secret_value(),
        "authinfo": info.json()["authinfo"],
        "cnp": owner["cnp"],
        "email": owner["email"],
        "phone": owner["phone"],
        "phone digits": owner["phone"].split(".")[1],
    }
    produced = {p.name: p.read_text(errors="replace") for p in (stack.var_dir / "logs").glob("*.log")}
    with stack_store.db.engine.connect() as conn:
        produced["api_calls"] = str(conn.execute(sa.text("select * from api_calls")).all())
        produced["breaker_events"] = str(conn.execute(sa.text("select * from breaker_events")).all())
        produced["outcomes"] = str(
            conn.execute(sa.text("select key, result, error_message, phase_data from jobs")).all()
        )
    assert produced["api_calls"].count("e2e-secret") >= 4  # the audit rows are there...
    for where, text in produced.items():  # ...and nothing secret is, anywhere
        for what, value in secrets.items():
            assert value not in text, f"{what} leaked into {where}"
        assert "domain_password" not in text, f"a domain password field leaked into {where}"
    producer.close()


def test_flower_needs_credentials_and_shows_no_personal_data(stack: Stack, stack_store: Store) -> None:
    import requests

    from testkit.stacks import wait_for

    producer = stack.producer()
    owner = person(email="flower.watcher@example.org", phone="+33.699887766")
    key = submit(parse_job(register("e2e-flower.com", owner=owner)), store=stack_store, app=producer).key
    assert wait_final(stack_store, key).status is JobStatus.SUCCEEDED
    producer.close()
    assert requests.get(f"{stack.flower_url}/api/workers", timeout=5).status_code == 401

    def seen() -> list | None:
        answer = requests.get(f"{stack.flower_url}/api/tasks", auth=stack.flower_auth, timeout=5)
        tasks = [t for t in answer.json().values() if "e2e-flower.com" in str(t.get("kwargs"))]
        return tasks or None

    tasks = wait_for(seen, 30, "Flower to show the task")
    text = str(tasks)
    assert "register:e2e-flower.com" in text
    for personal in (owner["email"], owner["phone"], owner["family"], owner["streetaddr"]):
        assert personal not in text
