"""The day-2 chaos run's size and jobs (deterministic from the seed), and seeding the sandbox for them.

One job per domain, so no two jobs race for the same registrar state: at Gandi (gTLDs) a transfer-in, a
nameserver change, a lock taken off a locked domain, a lock put on a domain unlocked beforehand, an
admin/tech contacts update, a glue create of two hosts and an owner change (confirmed by the
stand-in's owners a moment later); at ROTLD (.ro) a transfer (the registry's ``pending`` mode: it
completes ``transfer_seconds`` later), a nameserver change, a registrant address update and a glue
create; plus ROTLD lock jobs, which must end ``rejected`` (ROTLD has no transfer lock) and no effect.

Each planned job names the effect the sandbox counts for it (``GET /_sandbox/stats`` ``effects``, see
:mod:`sandbox.gandi_day2` and :mod:`sandbox.rotld_day2`) and how many: exactly that many for what is not
idempotent or is read before it is sent (transfer start, glue create, lock, nameservers), at least that
many for an idempotent write sent without a read (contacts: then the final state at the sandbox is what
counts).
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests
from requests.auth import HTTPDigestAuth

from shared.contact import Contact
from shared.gateways.rotld import contact_form
from shared.jobs import parse_job
from shared.store import Store
from testkit.chaos_scenario.config import ChaosConfig
from testkit.factories import person
from workers.embedded.stack import Stack

GANDI_KINDS = ("transfer", "nameservers", "lock_off", "lock_on", "contacts", "glue", "owner_change")
ROTLD_KINDS = ("transfer", "nameservers", "contacts", "glue")
#: The effect (as the sandbox names it) each planned kind has, per provider.
EFFECT_OF = {"transfer": "transfer", "nameservers": "nameservers", "lock_off": "lock", "lock_on": "lock"}
EFFECT_OF |= {"contacts": "contact", "glue": "glue_create", "owner_change": "owner_change"}
#: Gandi's effect operations and ROTLD's commands: a trickled answer after the effect widens the window
#: in which a kill finds the effect applied but its answer unread.
EFFECT_OPERATIONS = {
    "gandi": ("transfer_start", "nameservers", "lock", "contacts", "hosts", "host_update", "changeowner"),
    "rotld": ("domain-transfer", "domain-reset-ns", "contact-update", "nameserver-create"),
}


@dataclass(frozen=True)
class Day2Config:
    """Size, faults, kill schedule and workers of one day-2 chaos run."""

    seed: int = 2020
    per_kind: int = 3  # Gandi jobs of each GANDI_KINDS
    ro_per_kind: int = 2  # ROTLD jobs of each ROTLD_KINDS
    ro_locks: int = 1  # ROTLD lock jobs: rejected, no effect
    latency_ms: int = 400  # added to every upstream call...
    jitter_ms: int = 200  # ...plus up to this
    trickle: float = 0.5  # share of effect calls whose answer trickles out after the effect is applied
    transfer_seconds: float = 1.0  # a transfer completes this long after its start (both registrars)
    submit_seconds: float = 12.0
    kill_interval: tuple[float, float] = (2.5, 4.5)  # a kill does not wait for the last restart
    min_kills: int = 3
    max_kills: int = 5  # then the run only recovers (0: kill until every job is final)
    deadline_seconds: float = 75.0  # every job final within this long after the last submission
    settle_seconds: float = 1.0
    gandi_workers: int = 2
    gandi_concurrency: int = 2
    rotld_workers: int = 1  # a kill stalls .ro until the new worker is up: the run lasts for more kills
    rotld_concurrency: int = 2
    misc_concurrency: int = 1

    def chaos(self) -> ChaosConfig:
        """The shared scenario's config: the killer's schedule and the worker layout come from it."""
        return ChaosConfig(
            seed=self.seed,
            registers=0,
            renews=0,
            kill_interval=self.kill_interval,
            min_kills=self.min_kills,
            max_kills=self.max_kills,
            deadline_seconds=self.deadline_seconds,
            gandi_workers=self.gandi_workers,
            gandi_concurrency=self.gandi_concurrency,
            rotld_workers=self.rotld_workers,
            rotld_concurrency=self.rotld_concurrency,
            misc_concurrency=self.misc_concurrency,
        )


@dataclass(frozen=True)
class Day2Job:
    kind: str  # planned kind: GANDI_KINDS / ROTLD_KINDS, or "lock" (ROTLD: rejected)
    domain: str
    provider: str
    payload: dict[str, Any]
    effect: str | None  # the effect the sandbox counts for it (None: nothing may change)
    count: int = 1  # how many of it...
    at_least: bool = False  # ...exactly, or at least (an idempotent write sent without a read first)
    expect: str = "succeeded"
    cid: str = ""  # ROTLD contacts: the registrant contact created by prepare()

    @property
    def job_kind(self) -> str:
        return str(self.payload["kind"])


@dataclass
class Day2Plan:
    run_id: str
    jobs: list[Day2Job]
    transfer_keys: dict[str, str] = field(default_factory=dict)  # ROTLD domain -> authorization key


def _expiry(rng: random.Random) -> str:
    return (date.today() + timedelta(days=rng.randint(60, 300))).isoformat()


def _gandi_job(kind: str, domain: str, i: int, run: str) -> dict[str, Any]:
    if kind == "transfer":
        return {"kind": "transfer", "domain": domain, "auth_code": f"Ok7-{run}-{i}-x", "owner": person()}
    if kind == "nameservers":
        return {
            "kind": "nameservers",
            "domain": domain,
            "nameservers": [f"ns{n}.d2dns-{run}.net" for n in (1, 2)],
        }
    if kind in ("lock_off", "lock_on"):
        return {"kind": "lock", "domain": domain, "locked": kind == "lock_on"}
    if kind == "owner_change":
        return {"kind": "owner_change", "domain": domain, "owner": person(family=f"Nou{i}")}
    if kind == "contacts":
        moved = {"streetaddr": f"{i + 2} quai Saint-Antoine", "email": f"admin{i}@example.org"}
        return {"kind": "contacts", "domain": domain, "admin": person(**moved), "tech": person(family="Tech")}
    hosts = {f"ns1.{domain}": [f"8.8.{i % 250}.1"], f"ns2.{domain}": [f"9.9.{i % 250}.2", "2001:4860::53"]}
    return {"kind": "glue", "domain": domain, "hosts": hosts}


def _rotld_job(kind: str, domain: str, i: int, run: str) -> dict[str, Any]:
    if kind == "transfer":
        return {"kind": "transfer", "domain": domain, "auth_code": f"Ro7{run}K{i}ey"}
    if kind == "contacts":
        moved = person("RO", streetaddr=f"Str. Noua {i + 1}", city="Cluj-Napoca", state="Cluj")
        return {"kind": "contacts", "domain": domain, "owner": moved}
    if kind == "glue":
        hosts = {f"ns1.{domain}": [f"8.8.{i % 250}.3"], f"ns2.{domain}": [f"9.9.{i % 250}.4"]}
        return {"kind": "glue", "domain": domain, "hosts": hosts}
    return _gandi_job(kind, domain, i, run)


def plan_day2(config: Day2Config, run_id: str | None = None) -> Day2Plan:
    """The jobs of one run, deterministic from the seed (``run_id`` keeps names unique)."""
    rng = random.Random(config.seed)
    run = run_id or uuid.uuid4().hex[:6]
    jobs: list[Day2Job] = []
    plan = Day2Plan(run, jobs)
    for kind in GANDI_KINDS:
        for i in range(config.per_kind):
            domain = f"d2{run}-{kind.replace('_', '')}{i}.{'com' if i % 2 == 0 else 'net'}"
            payload = _gandi_job(kind, domain, i, run)
            hosts = len(payload.get("hosts", {})) or 1
            jobs.append(Day2Job(kind, domain, "gandi", payload, EFFECT_OF[kind], hosts, kind == "contacts"))
    for kind in ROTLD_KINDS:
        for i in range(config.ro_per_kind):
            domain = f"d2{run}-{kind}{i}.ro"
            payload = _rotld_job(kind, domain, i, run)
            hosts = len(payload.get("hosts", {})) or 1
            jobs.append(Day2Job(kind, domain, "rotld", payload, EFFECT_OF[kind], hosts, kind == "contacts"))
            if kind == "transfer":
                plan.transfer_keys[domain] = str(payload["auth_code"])
    for i in range(config.ro_locks):
        payload = {"kind": "lock", "domain": f"d2{run}-lock{i}.ro", "locked": False}
        jobs.append(Day2Job("lock", str(payload["domain"]), "rotld", payload, None, 0, expect="rejected"))
    for job in jobs:
        parse_job(job.payload)  # a planning mistake fails here, not as a rejected job
    rng.shuffle(jobs)
    return plan


def fault_rules(config: Day2Config, provider: str) -> list[dict[str, Any]]:
    """Latency on every call (kills land mid-call), and on ``trickle`` of the effect calls an answer that
    trickles out after the effect is applied (kills land between the effect and its answer)."""
    rules: list[dict[str, Any]] = [
        {"operation": "*", "kind": "latency", "ms": config.latency_ms, "jitter_ms": config.jitter_ms}
    ]
    for operation in EFFECT_OPERATIONS[provider]:
        rule = {"operation": operation, "kind": "trickle", "bytes": 24, "interval": 0.1, "apply": True}
        rules.append({**rule, "probability": config.trickle})
    return rules


def rotld_post(stack: Stack, form: dict[str, str]) -> dict[str, Any]:
    """One ROTLD command straight to the stand-in (Digest, as its clients send it); its envelope, or
    RuntimeError naming the command and the result code when it is not a success."""
    env = stack.env
    body = {"lang": "en", "format": "json", **form}
    auth = HTTPDigestAuth(env["REGQ_ROTLD_USER"], env["REGQ_ROTLD_PASSWORD"])
    answer = requests.post(env["REGQ_ROTLD_API_URL"], data=body, auth=auth, timeout=10)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    if data.get("result_code") != "00200":
        raise RuntimeError(
            f"rotld {form.get('command')}: {data.get('result_code')} {data.get('result_message')}"
        )
    return data


def _gandi_unlock(stack: Stack, domain: str) -> None:
    env = stack.env
    url = f"{env['REGQ_GANDI_API_URL'].rstrip('/')}/domain/domains/{domain}/status"
    headers = {"Authorization": f"Bearer {env['REGQ_GANDI_TOKEN']}"}
    requests.patch(
        url, json={"clientTransferProhibited": False}, headers=headers, timeout=10
    ).raise_for_status()


def prepare(stack: Stack, store: Store, plan: Day2Plan, config: Day2Config) -> Day2Plan:
    """Seed both sandboxes and the inventory (domains ours, ROTLD transfers held by another registrar
    with their keys, a registrant contact per ROTLD contacts job, the lock-on domains unlocked), then set
    the faults. Returns the plan with the contacts' ids filled in."""
    assert stack.sandbox is not None
    rng = random.Random(config.seed + 1)
    seeds: dict[str, list[dict[str, Any]]] = {"gandi": [], "rotld": []}
    jobs: list[Day2Job] = []
    for job in plan.jobs:
        expires = _expiry(rng)
        entry: dict[str, Any] = {"fqdn": job.domain, "owner": "us", "expires": expires}
        if job.kind == "transfer" and job.provider == "gandi":
            jobs.append(job)  # Gandi: not in the sandbox yet, the transfer brings it
            continue
        if job.kind == "transfer":
            entry["owner"] = "other"
        elif job.kind == "contacts" and job.provider == "rotld":
            registered = Contact(**person("RO", streetaddr="Str. Veche 1"))
            cid = str(
                rotld_post(stack, {"command": "contact-create", **contact_form(registered)})["data"]["cid"]
            )
            entry["registrant"] = cid
            job = dataclasses.replace(job, cid=cid)
        if entry["owner"] == "us":
            store.inventory.upsert(job.domain, job.provider, date.fromisoformat(expires))
        seeds[job.provider].append(entry)
        jobs.append(job)
    for provider, entries in seeds.items():
        if entries:
            stack.sandbox.seed_domains(provider, entries)
    for job in jobs:
        if job.kind == "lock_on":
            _gandi_unlock(stack, job.domain)
    seconds = config.transfer_seconds
    stack.sandbox.configure("gandi", transfer_delay=seconds / 2, pending_transfer_delay=seconds / 2)
    stack.sandbox.configure(
        "rotld", transfer_keys=plan.transfer_keys, transfer_mode="pending", transfer_pending_seconds=seconds
    )
    for provider in ("gandi", "rotld"):
        stack.sandbox.set_faults(
            provider, fault_rules(config, provider), seed=config.seed * 2 + (provider == "rotld")
        )
    return Day2Plan(plan.run_id, jobs, plan.transfer_keys)
