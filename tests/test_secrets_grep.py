"""Issue 14: secrets and personal data never appear in logs, the store's tables, exception text, broker
messages, Flower or the exporter.

One demo-sized workload (``regq demo``'s job mix: gTLD and .ro registers for persons and companies with
CNP, e-mail and phone, renews, lookups, duplicates, invalid lines) goes in through every producer path
(``POST /v1/jobs:batch``, ``POST /v1/jobs``, ``regq submit --file``'s ``submit_lines``) into a full
embedded stack (workers, beat, Flower, ``regq api``, ``regq exporter``), while a Redis ``MONITOR`` records
every broker message as it is pushed. Then everything the stack produced is grepped for every secret and
personal value the workload used.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.jobs import FINAL_STATUSES
from shared.store import Store
from testkit.leaks import RedisMonitor, leaks, log_texts, table_texts
from testkit.stacks import running_stack, wait_for
from workers.commands.submit import submit_lines
from workers.demo import Batch, build_batch
from workers.embedded.stack import SANDBOX_PASSWORD, SANDBOX_TOKEN, Stack, WorkerGroup

JOBS = 120  # demo-sized (the demo's 200 take ~35 s at the production rates; these run at sandbox rates)
GROUPS = (
    WorkerGroup("gandi", ("registrar.gandi",), 6),  # Gandi jobs wait on the stand-in's 202 + visibility
    WorkerGroup("rotld", ("registrar.rotld",), 1),
    WorkerGroup("misc", ("lookup", "maintenance"), 2),
)
FAST = {  # the sandbox is no registry: let the workload finish in seconds
    "REGQ_GANDI_RATE": "200/s",
    "REGQ_GANDI_BURST": "50",
    "REGQ_ROTLD_RATE": "100/s",
    "REGQ_ROTLD_BURST": "20",
    "REGQ_API_RATE": "100/s",
}
#: Columns that hold what a job needs to run (the owner contact, for the registrar): the one place
#: personal data is kept, by design (and the webhook signing secret, which must be readable to sign);
#: every other column of every table is grepped.
KEPT_ON_PURPOSE = {"jobs": ("params",), "api_tokens": ("webhook_secret",)}


class Workload:
    """What the stack was given and what it answered, for the grep."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.keys: set[str] = set()
        self.answers: list[str] = []  # every API answer body (results, errors, conflicts)


@pytest.fixture(scope="module")
def stack(redis_url: str, own_postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        redis_url,
        own_postgres_url,
        Path(tmp_path_factory.mktemp("secrets-stack")),
        GROUPS,
        beat=True,
        flower=True,
        api=True,
        exporter=True,
        extra_env=FAST,
        sandbox_args=("--visibility-delay", "0.05"),
    ) as s:
        yield s


def _api(stack: Stack, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {stack.api_token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{stack.api_url}{path}", headers=headers, timeout=60, **kwargs)


def _run(stack: Stack, store: Store, batch: Batch) -> Workload:
    """The demo's set-up (sandbox seeds, inventory), then the lines through the API and submit_lines."""
    assert stack.sandbox is not None
    for provider, seeds in batch.seeds.items():
        if seeds:
            stack.sandbox.seed_domains(provider, seeds)
    for name, provider, expires in batch.inventory:
        store.inventory.upsert(name, provider, expires)
    work = Workload(batch)
    tail = 11  # the duplicates and invalid lines build_batch puts last: one POST /v1/jobs each
    head = batch.lines[:-tail]
    via_batch, via_file = head[: len(head) // 2], head[len(head) // 2 :]
    answer = _api(
        stack,
        "POST",
        "/v1/jobs:batch",
        data="\n".join(via_batch).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    work.answers.append(answer.text)
    work.keys |= {r["key"] for r in answer.json()["results"] if r["ok"]}
    producer = stack.producer()
    try:
        outcomes, _problems = submit_lines(via_file, store, producer, show_progress=False)
    finally:
        producer.close()
    work.keys |= {o.key for o in outcomes}
    codes = []
    for line in batch.lines[-tail:]:
        answer = _api(
            stack, "POST", "/v1/jobs", data=line.encode(), headers={"Content-Type": "application/json"}
        )
        codes.append(answer.status_code)
        work.answers.append(answer.text)
        if answer.status_code in (200, 201):
            work.keys.add(answer.json()["key"])
    # 6 duplicates: 200 when the first copy came through the API with this token, 409 "already in use"
    # when it came through submit_lines (no token: no owner's job, so none of it is shown); 5 refused
    assert sorted(c for c in codes if c != 422) in ([200] * n + [409] * (6 - n) for n in range(7)), codes
    assert codes.count(422) == 5, codes
    return work


def _final(store: Store, keys: set[str]) -> bool:
    final = {s.value for s in FINAL_STATUSES}
    return all((r := store.jobs.get(k)) is not None and r.status in final for k in keys)


def _secrets(stack: Stack, store: Store, batch: Batch) -> dict[str, set[str]]:
    """Every secret and personal value the workload used, by kind."""
    owners = [json.loads(line).get("owner") or {} for line in batch.lines]
    phones = {o["phone"] for o in owners if o.get("phone")}
    assert stack.api_token is not None
    token_names = [t.name for t in store.api_tokens.all()]
    values: dict[str, set[str]] = {
        "API token": {stack.api_token},
        "webhook signing secret": {store.api_tokens.webhook_secret(n) or "" for n in token_names},
        "Gandi API key": {SANDBOX_TOKEN},
        "ROTLD password": {SANDBOX_PASSWORD},
        "CNP": {o["cnp"] for o in owners if o.get("cnp")},
        "e-mail": {o["email"] for o in owners if o.get("email")},
        "phone": phones | {p.replace(".", "") for p in phones},
        "Flower password": {stack.flower_auth[1]} if stack.flower_auth else set(),
    }
    # The authinfo (transfer code) of every domain now held at the Gandi stand-in, as its API shows it.
    settings = stack.settings()
    authinfo = set()
    for domain in stack.sandbox.domains("gandi") if stack.sandbox else []:
        info = requests.get(
            f"{settings.gandi_api_url}/domain/domains/{domain['fqdn']}",
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
            timeout=5,
        )
        if info.status_code == 200 and info.json().get("authinfo"):
            authinfo.add(info.json()["authinfo"])
    values["domain authinfo"] = authinfo
    return values


def _flower_pages(stack: Stack) -> dict[str, str]:
    auth = stack.flower_auth
    base = stack.flower_url
    pages = {}
    for path in ("/api/tasks", "/api/workers", "/tasks", "/workers", "/broker", "/metrics"):
        pages[f"flower {path}"] = requests.get(base + path, auth=auth, timeout=30).text
    table = requests.get(
        base + "/tasks/datatable",
        params={"draw": 1, "start": 0, "length": 1000, "search[value]": "", "order[0][column]": 0},
        auth=auth,
        timeout=30,
    )
    pages["flower /tasks/datatable"] = table.text
    tasks = json.loads(pages["flower /api/tasks"])
    for task_id in list(tasks)[:40]:  # the task pages show args, kwargs, result, traceback
        pages[f"flower /task/{task_id}"] = requests.get(f"{base}/task/{task_id}", auth=auth, timeout=30).text
    return pages


def test_a_demo_workload_leaves_no_secret_or_personal_data_anywhere(stack: Stack) -> None:
    store = Store(stack.settings().database_url)
    batch = build_batch(JOBS, seed=random.randrange(1 << 30))
    with RedisMonitor(stack.env["REGQ_REDIS_URL"], only=stack.env["REGQ_REDIS_PREFIX"]) as monitor:
        work = _run(stack, store, batch)
        wait_for(lambda: _final(store, work.keys), 90, f"{len(work.keys)} jobs to finish", interval=0.5)
        assert stack.flower_url and stack.exporter_url
        wait_for(  # Flower has seen the workload's tasks (events are asynchronous)
            lambda: (
                len(requests.get(stack.flower_url + "/api/tasks", auth=stack.flower_auth, timeout=10).json())
                >= len(work.keys)
            ),
            30,
            "Flower to list every task",
        )
    # a client putting the token in the URL (issue 18): refused, and uvicorn's access log keeps it redacted
    leaky = requests.get(f"{stack.api_url}/v1/jobs?access_token={stack.api_token}", timeout=30)
    assert leaky.status_code == 400 and "Authorization" in leaky.text
    work.answers.append(leaky.text)
    secrets = _secrets(stack, store, batch)
    produced: dict[str, str] = {}
    wait_for(
        lambda: "/v1/jobs?access_token=[REDACTED]" in (stack.var_dir / "logs" / "api.log").read_text(),
        10,
        "the access log to show the refused request",
    )
    produced.update(log_texts(stack.var_dir / "logs"))
    produced.update(table_texts(store.db.engine, KEPT_ON_PURPOSE))
    produced["broker messages"] = monitor.text()
    produced.update(_flower_pages(stack))
    produced["exporter /metrics"] = requests.get(stack.exporter_url + "/metrics", timeout=30).text
    produced["API answers"] = "\n".join(work.answers)
    cursor = None
    for page in range(5):  # what a reader of the API sees: outcomes, errors included
        listed = _api(stack, "GET", "/v1/jobs", params={"limit": 100, "cursor": cursor})
        produced[f"API GET /v1/jobs page {page}"] = listed.text
        cursor = listed.json()["next_cursor"]
        if cursor is None:
            break

    # The grep would see a leak: each place holds the workload, and the secrets are the real ones.
    assert len(work.keys) >= JOBS - 20
    for log in ("api.log", "exporter.log", "flower.log", "beat.log", "gandi.log", "rotld.log", "misc.log"):
        assert produced.get(log), f"no {log}"
    assert re.search(r"POST /v1/jobs(:batch)? HTTP", produced["api.log"])  # uvicorn's access log
    assert produced["table api_calls"].count("\n") >= JOBS  # the audit rows are there
    some_key = sorted(work.keys)[0]
    # the capture holds the pushed messages, their base64 bodies decoded (JSON kwargs, not Celery's repr)
    assert "LPUSH" in produced["broker messages"] and f'"key": "{some_key}"' in produced["broker messages"]
    assert "regq.register" in produced["flower /api/tasks"] and "regq_jobs{" in produced["exporter /metrics"]
    assert len(secrets["CNP"]) >= 5 and len(secrets["phone"]) >= 20 and len(secrets["domain authinfo"]) >= 20
    assert leaks({"a line": f"x {sorted(secrets['CNP'])[0]} y"}, secrets)  # the finder finds

    found = leaks(produced, secrets)
    for where, text in produced.items():
        if "domain_password" in text:
            found.append(f"a domain_password field in {where}")
        if re.search(r"(?i)bearer\s+regq_", text):
            found.append(f"a bearer token in {where}")
    store.dispose()
    assert not found, "\n".join(found)
