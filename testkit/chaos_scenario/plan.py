"""The jobs of one chaos run (deterministic from the seed), the sandbox's fault rules, and seeding the
sandbox and the inventory before the run."""

from __future__ import annotations

import dataclasses
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stdnum.ro import cnp

from shared.jobs import RegisterJob, RenewJob, parse_job
from shared.store import Store
from testkit.chaos_scenario.config import ChaosConfig
from workers.embedded.stack import Stack

#: The operations that change state at each provider, and the names the sandbox gives them.
EFFECT_OPERATIONS = {"gandi": ("create", "renew"), "rotld": ("domain-register", "domain-renew")}
PROVIDER_OF_TLD = {"com": "gandi", "net": "gandi", "ro": "rotld"}


@dataclass(frozen=True)
class PlannedJob:
    kind: str  # register | renew
    domain: str
    provider: str
    payload: dict[str, Any]
    taken: bool = False  # register of a name someone else holds: must fail as unavailable
    raw: bool = False  # also published as raw duplicate messages
    start_expiry: date | None = None  # renew: the seeded expiry the term starts from
    years: int = 1

    @property
    def job(self) -> RegisterJob | RenewJob:
        job = parse_job(self.payload)
        assert isinstance(job, RegisterJob | RenewJob)
        return job


@dataclass(frozen=True)
class Plan:
    run_id: str
    jobs: list[PlannedJob]

    @property
    def registers(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.kind == "register"]

    @property
    def renews(self) -> list[PlannedJob]:
        return [j for j in self.jobs if j.kind == "renew"]


def _person(country: str, serial: int) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "given": "Ana",
        "family": f"Pop{serial}",
        "email": f"ana.pop{serial}@example.org",
        "phone": "+33.612345678",
        "streetaddr": f"{serial} rue de la Paix",
        "city": "Lyon",
        "zip": "69001",
        "country": country,
    }
    if country == "RO":
        body = f"180010122{serial % 1000:03d}"  # born 1980-01-01 in Cluj, serial number NNN
        contact.update(phone="+40.727636787", city="Cluj", cnp=body + cnp.calc_check_digit(body))
    return contact


def _tld(rng: random.Random, ro_share: float, index: int) -> str:
    return "ro" if rng.random() < ro_share else ("com" if index % 2 == 0 else "net")


def _expiry(rng: random.Random) -> date:
    day = date.today() + timedelta(days=rng.randint(20, 300))
    return day + timedelta(days=1) if (day.month, day.day) == (2, 29) else day


def plan_jobs(config: ChaosConfig, run_id: str | None = None) -> Plan:
    """The jobs of one run, deterministic from the seed (``run_id`` only keeps names unique)."""
    rng = random.Random(config.seed)
    run = run_id or uuid.uuid4().hex[:6]
    jobs: list[PlannedJob] = []
    taken = set(rng.sample(range(config.registers), round(config.registers * config.taken_share)))
    for i in range(config.registers):
        tld = _tld(rng, config.ro_share, i)
        domain = f"chaos{run}-r{i:04d}.{tld}"
        # A few .ro registrants own several names: the registry contact is created once and shared.
        owner = _person("RO", i // 3) if tld == "ro" else _person("FR", i)
        payload = {"kind": "register", "domain": domain, "years": 1 + i % 2, "owner": owner}
        jobs.append(
            PlannedJob("register", domain, PROVIDER_OF_TLD[tld], payload, taken=i in taken, years=1 + i % 2)
        )
    for i in range(config.renews):
        tld = _tld(rng, config.ro_share, i)
        domain = f"chaos{run}-n{i:04d}.{tld}"
        expiry, years = _expiry(rng), 1 + i % 3
        # The producer names the term (the expiry it starts from): every copy has the same key.
        payload = {"kind": "renew", "domain": domain, "years": years, "current_expiry": expiry.isoformat()}
        jobs.append(
            PlannedJob("renew", domain, PROVIDER_OF_TLD[tld], payload, start_expiry=expiry, years=years)
        )
    rng.shuffle(jobs)
    jobs = [dataclasses.replace(j, raw=rng.random() < config.raw_share) for j in jobs]
    return Plan(run, jobs)


def fault_rules(config: ChaosConfig, provider: str) -> list[dict[str, Any]]:
    """commit_drop on ``commit_drop`` of the effect calls, 500 on ``server_error`` of them (overall).

    The sandbox looks at rules in order and the first that fires decides, so the 500 rule's probability
    is conditional on the drop rule not having fired.
    """
    second = config.server_error / (1.0 - config.commit_drop) if config.commit_drop < 1 else 0.0
    rules: list[dict[str, Any]] = []
    for operation in EFFECT_OPERATIONS[provider]:
        rules.append({"operation": operation, "kind": "commit_drop", "probability": config.commit_drop})
        rules.append(
            {"operation": operation, "kind": "status", "status": 500, "probability": min(1.0, second)}
        )
    return rules


def prepare(stack: Stack, store: Store, plan: Plan, config: ChaosConfig) -> None:
    """Seed the sandbox (names held by others, our names to renew) and the inventory; set the faults."""
    assert stack.sandbox is not None
    seeds: dict[str, list[dict[str, Any]]] = {"gandi": [], "rotld": []}
    for job in plan.jobs:
        if job.kind == "register" and job.taken:
            seeds[job.provider].append({"fqdn": job.domain, "owner": "other", "expires": "2031-01-15"})
        elif job.kind == "renew":
            assert job.start_expiry is not None
            seeds[job.provider].append(
                {"fqdn": job.domain, "owner": "us", "expires": job.start_expiry.isoformat()}
            )
            store.inventory.upsert(job.domain, job.provider, job.start_expiry)
    for provider, entries in seeds.items():
        if entries:
            stack.sandbox.seed_domains(provider, entries)
        # Distinct fault streams per provider, both from the one seed.
        stack.sandbox.set_faults(
            provider, fault_rules(config, provider), seed=config.seed * 2 + (provider == "rotld")
        )
