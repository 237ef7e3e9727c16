"""Transfers end to end (issue 20): a real ``regq api``, a real Celery worker transferring at the sandbox's
Gandi (a completing transfer and a refused one, :mod:`sandbox.gandi_transfers`), a maintenance worker and
beat delivering signed webhooks to a real receiver, a curl client submitting and polling. Then every log
file, every table and every webhook body is grepped for the auth codes used: nowhere. An auth code read
through the API shows in that answer only. A .ro owner change (a trade: its key is an auth code too) goes
the same way and is grepped the same. And ``regq transfers list|resend-foa|replace-code`` in-process
against the same stack.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shared.store import Store
from shared.webhooks.signature import verify
from testkit import services
from testkit.api import Api, running_api
from testkit.factories import person
from testkit.leaks import leaks, log_texts, table_texts
from testkit.stacks import running_stack, wait_for
from testkit.webhook_receiver import Receiver, running_receiver
from workers.embedded.stack import Stack, WorkerGroup

GROUPS = (WorkerGroup("all", ("registrar.gandi", "registrar.rotld", "maintenance"), 2),)
ENV = {
    "REGQ_WEBHOOK_ALLOW_PRIVATE": "true",
    "REGQ_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "REGQ_WEBHOOK_RETRY_MAX_SECONDS": "0.4",
    "REGQ_WEBHOOK_SWEEP_INTERVAL_SECONDS": "0.3",
    "REGQ_TRANSFER_FOLLOW_SECONDS": "1",
    "REGQ_API_RATE": "1000/s",
    "REGQ_API_BURST": "1000",
    "REGQ_OUTBOUND_ALLOW_PRIVATE": "true",
}
FINAL = ("succeeded", "failed", "rejected")


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("transfers-e2e"))


@pytest.fixture(scope="module")
def stack(redis_url: str, var: Path) -> Iterator[Stack]:
    with services.postgres_database() as database_url:
        store = Store(database_url)
        store.upgrade()
        store.dispose()
        with running_stack(redis_url, database_url, var / "stack", GROUPS, beat=True, extra_env=ENV) as s:
            yield s


@pytest.fixture(scope="module")
def api(stack: Stack, var: Path) -> Iterator[Api]:
    (var / "api").mkdir()
    with running_api(stack.env, var / "api", ENV) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def everything(stack: Stack, var: Path) -> dict[str, str]:
    """Every log the stack and the API wrote, every row of every table (no column spared)."""
    produced = log_texts(var)
    store = Store(stack.settings().database_url)
    try:
        produced.update(table_texts(store.db.engine, {}))
    finally:
        store.dispose()
    return produced


class Curl:
    """What a PHP panel does: nothing but HTTP with a bearer token."""

    def __init__(self, api: Api, token: str, workdir: Path) -> None:
        self.base = ["curl", "-sS", "-H", f"Authorization: Bearer {token}"]
        self.url = api.url
        self.workdir = workdir
        self.answers: list[str] = []  # every answer body, for the grep

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sent, out = self.workdir / f"body-{uuid.uuid4().hex}.json", self.workdir / "out.json"
        sent.write_text(json.dumps(body))
        done = subprocess.run(
            [*self.base, "-H", "Content-Type: application/json", "-d", f"@{sent}", "-w", "%{http_code}"]
            + ["-o", str(out), self.url + path],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        sent.unlink()  # the request body held an auth code: not left for the grep to find
        assert done.returncode == 0, done.stderr
        return int(done.stdout), json.loads(out.read_text())

    def get(self, path: str) -> dict[str, Any]:
        done = subprocess.run([*self.base, self.url + path], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        self.answers.append(done.stdout)
        return json.loads(done.stdout)

    def final(self, key: str, timeout: float = 25) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            outcome = self.get(f"/v1/jobs/{key}")
            return outcome if outcome["status"] in FINAL else None

        found = wait_for(ended, timeout, f"{key} to end", interval=0.3)
        assert isinstance(found, dict)
        return found


def _transfer(domain: str, code: str, callback_url: str) -> dict[str, Any]:
    return {
        "kind": "transfer",
        "domain": domain,
        "auth_code": code,
        "owner": person(),
        "callback_url": callback_url,
    }


def _reason(store: Store, key: str) -> str:
    record = store.jobs.get(key)
    return (record.wait_reason or "") if record is not None else ""


def test_transfers_from_curl_end_with_signed_webhooks_and_no_code_anywhere(
    api: Api, stack: Stack, receiver: Receiver, var: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"panel-{tag}"
    token = api.store.api_tokens.create(name, ["submit", "read"])[1]
    signing = api.store.api_tokens.webhook_secret(name)
    assert signing is not None
    codes = {"ok": f"Ok7-{tag}-moves", "refused": f"Rf7-{tag}-stays"}
    domains = {"ok": f"xfer-e2e-{tag}.com", "refused": f"xfer-refused-{tag}.com"}
    curl = Curl(api, token, tmp_path)
    keys = {}
    for case, domain in domains.items():
        status, answer = curl.post("/v1/jobs", _transfer(domain, codes[case], receiver.url))
        assert status == 201, answer
        keys[case] = answer["key"]
        curl.answers.append(json.dumps(answer))
    assert keys == {case: f"transfer:{domain}" for case, domain in domains.items()}

    moved = curl.final(keys["ok"])
    assert moved["status"] == "succeeded", moved
    assert stack.sandbox is not None
    [held] = [d for d in stack.sandbox.domains("gandi") if d["fqdn"] == domains["ok"]]
    assert moved["result"]["expires_at"][:10] == held["expires"]  # the registry's, as the sandbox set it
    refused = curl.final(keys["refused"])
    assert refused["status"] == "failed", refused
    assert refused["error_code"] == "transfer_failed" and "refused" in refused["error_message"].lower()

    events = {}
    for case, key in keys.items():
        hit = receiver.wait_for_key(key, 20)
        assert verify(hit.body, hit.headers["Regq-Signature"], signing)
        events[case] = hit.json()
    assert events["ok"]["event"] == "job.succeeded" and events["ok"]["result"] == moved["result"]
    assert events["refused"]["event"] == "job.failed"
    assert events["refused"]["error_message"] == refused["error_message"]
    effects = stack.sandbox.stats("gandi")["effects"]
    assert {effects[d].get("transfer") for d in domains.values()} == {1}  # started once each

    # the moved domain's code, read through the API: in that answer only
    status, answer = curl.post(f"/v1/domains/{domains['ok']}/auth-code", {})
    assert status == 200, answer
    read = answer["auth_code"]
    assert answer["domain"] == domains["ok"] and len(read) >= 8

    produced = everything(stack, var)
    produced["webhook bodies"] = "\n".join(r.body.decode() for r in receiver.received)
    produced["API answers (but the auth-code read)"] = "\n".join(curl.answers)
    assert len(produced["webhook bodies"].splitlines()) >= 2 and any(w.startswith("api-") for w in produced)
    assert "'auth_code': '***'" in produced["table jobs"]  # scrubbed once sent; the params are grepped too
    assert any(domains["ok"] in text for where, text in produced.items() if where.endswith(".log"))
    found = leaks(produced, {"the submitted auth codes": codes.values(), "the auth code read": [read]})
    assert not found, "\n".join(found)


def test_the_transfers_commands_list_resend_and_replace(
    api: Api, stack: Stack, var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.cli import app

    tag = uuid.uuid4().hex[:8]
    name = f"panel-cli-{tag}"
    token = api.store.api_tokens.create(name, ["submit", "read"])[1]
    domain = f"xfer-nofoa-{tag}.com"  # the FOA e-mail is never answered: pending for ever
    code, replaced = f"Nf7-{tag}-first", f"Nf7-{tag}-second"
    answer = api.call("POST", "/v1/jobs", token, json=_transfer(domain, code, "https://panel.example/h"))
    assert answer.status_code == 201, answer.text
    key = answer.json()["key"]
    store = Store(stack.settings().database_url)
    try:
        wait_for(lambda: "waiting_foa" in _reason(store, key), 20, f"{key} to wait for the FOA", interval=0.2)
    finally:
        store.dispose()
    for variable, value in {**stack.env, **ENV}.items():
        monkeypatch.setenv(variable, value)
    runner = CliRunner()

    listed = runner.invoke(app, ["transfers", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = [r for r in json.loads(listed.stdout) if r["key"] == key]
    assert (row["domain"], row["registrar"], row["status"]) == (domain, "gandi", "waiting")
    assert "waiting_foa" in row["wait_reason"] and row["age_seconds"] >= 0
    table = runner.invoke(app, ["transfers", "list"])
    assert table.exit_code == 0 and "transfers under way (1)" in table.stdout and "gandi" in table.stdout

    resent = runner.invoke(app, ["transfers", "resend-foa", domain, "--json"])
    assert resent.exit_code == 0, resent.output
    assert json.loads(resent.stdout) == {
        "domain": domain,
        "registrar": "gandi",
        "done": "confirmation e-mail sent again",
        "job": key,
        "job_status": "waiting",
    }
    swapped = runner.invoke(app, ["transfers", "replace-code", domain, "--auth-code", "-"], input=replaced)
    assert swapped.exit_code == 0, swapped.output
    assert "auth code replaced" in swapped.output and replaced not in swapped.output
    in_argv = runner.invoke(app, ["transfers", "replace-code", domain, "--auth-code", replaced])
    assert in_argv.exit_code == 2 and replaced not in in_argv.output
    by_operation = stack.sandbox.stats("gandi")["by_operation"] if stack.sandbox else {}
    assert by_operation.get("transfer_foa", 0) >= 1 and by_operation.get("transfer_authinfo", 0) >= 1
    for command in (["resend-foa", f"nope-{tag}.ro"], ["replace-code", f"nope-{tag}.ro", "--auth-code", "-"]):
        refused = runner.invoke(app, ["transfers", *command], input=replaced)
        assert refused.exit_code == 1 and "rotld does not offer" in refused.output, refused.output
    unknown = runner.invoke(app, ["transfers", "resend-foa", f"nothing-{tag}.com"])
    assert unknown.exit_code == 1 and "FOA resend refused" in unknown.output

    produced = everything(stack, var)
    produced["CLI output"] = "".join(r.output for r in (listed, table, resent, swapped, in_argv))
    found = leaks(produced, {"the replaced auth codes": [code, replaced]})
    assert not found, "\n".join(found)


def test_a_ro_owner_change_from_curl_leaves_its_key_nowhere(
    api: Api, stack: Stack, receiver: Receiver, var: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"trader-{tag}"
    token = api.store.api_tokens.create(name, ["submit", "read"])[1]
    signing = api.store.api_tokens.webhook_secret(name)
    assert signing is not None and stack.sandbox is not None
    domain, code = f"vand-{tag}.ro", f"Trade{tag}Key"
    stack.sandbox.seed_domains("rotld", [{"fqdn": domain, "owner": "us"}])
    stack.sandbox.configure("rotld", transfer_keys={domain: code}, trade_mode="sync")
    curl = Curl(api, token, tmp_path)
    body = {
        "kind": "owner_change",
        "domain": domain,
        "owner": person("RO"),
        "auth_code": code,
        "years": 1,
        "callback_url": receiver.url,
    }
    status, answer = curl.post("/v1/jobs", body)
    assert status == 201, answer
    curl.answers.append(json.dumps(answer))
    done = curl.final(answer["key"])
    assert done["status"] == "succeeded", done
    assert done["result"]["owner_changed"] is True and done["result"]["registrar"] == "rotld"
    hit = receiver.wait_for_key(answer["key"], 20)
    assert verify(hit.body, hit.headers["Regq-Signature"], signing)
    assert hit.json()["event"] == "job.succeeded"
    assert stack.sandbox.stats("rotld")["effects"][domain] == {"trade": 1}  # traded once

    produced = everything(stack, var)
    produced["webhook bodies"] = "\n".join(r.body.decode() for r in receiver.received)
    produced["API answers"] = "\n".join(curl.answers)
    assert any(domain in text for where, text in produced.items() if where.endswith(".log"))
    found = leaks(produced, {"the trade's authorization key": [code]})
    assert not found, "\n".join(found)
