"""The demo batch: every kind of job that really works, a few duplicates and a few invalid ones."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from stdnum.ro import cnp, cui

TLDS = ("com", "net", "org", "eu", "info", "dev")


#: RDAP (thin .com with the registrar hop, thick .no) and WHOIS (.ro, .eu, .de, .jp, thin .net).
LOOKUP_NAMES = (
    "google.com",
    "www.norway.no",
    "themarquetry.com",
    "google.ro",
    "eurid.eu",
    "google.de",
    "yahoo.co.jp",
    "shazow.net",
)


def person(rng: random.Random, country: str = "FR") -> dict[str, Any]:
    given, family = (
        rng.choice(["Ana", "Ion", "Marie", "Paul", "Elena"]),
        rng.choice(["Pop", "Martin", "Ionescu"]),
    )
    contact = {
        "type": "person",
        "given": given,
        "family": family,
        "email": f"{given.lower()}@example.org",
        "phone": f"+{40 if country == 'RO' else 33}.{rng.randint(100000000, 999999999)}",
        "streetaddr": f"{rng.randint(1, 99)} Main Street",
        "city": "Cluj" if country == "RO" else "Lyon",
        "zip": "400001",
        "country": country,
    }
    if country == "RO":
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000))
        body = f"{rng.choice('12')}{birth:%y%m%d}{rng.randint(1, 46):02d}{rng.randint(1, 999):03d}"
        contact["cnp"] = body + cnp.calc_check_digit(body)
    return contact


def company(rng: random.Random) -> dict[str, Any]:
    body = str(rng.randint(100000, 9999999))
    return {
        **person(rng, "RO"),
        "type": "company",
        "orgname": "Exemplu SRL",
        "cnp": None,
        "cui": body + cui.calc_check_digit(body),
        "registration_number": f"J12/{rng.randint(1, 9999)}/2015",
    }


@dataclass
class Batch:
    """Job messages (JSON lines) plus what the sandbox and the inventory must hold for them."""

    lines: list[str] = field(default_factory=list)
    seeds: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {"gandi": [], "rotld": []})
    inventory: list[tuple[str, str, date]] = field(default_factory=list)
    planned: Counter[str] = field(default_factory=Counter)
    #: jobs sent one by one through ``POST /v1/jobs`` (the API token then owns their domains)
    api_jobs: list[dict[str, Any]] = field(default_factory=list)
    #: a held domain whose transfer code the demo reads through ``POST /v1/domains/{domain}/auth-code``
    auth_code_domain: str | None = None

    def add(self, job: dict[str, Any], what: str) -> None:
        self.lines.append(json.dumps({k: v for k, v in job.items() if v is not None}))
        self.planned[what] += 1


def add_day2(batch: Batch, rng: random.Random, run: int, today: date) -> None:
    """Issue 20's day-2 jobs: a transfer that completes, one the losing registrar refuses (the sandbox's
    ``xfer-refused-`` scenario), a nameserver change and a lock (through the API, on the domain whose
    auth code is then read)."""
    owner = person(rng)
    owner.pop("cnp", None)
    code = f"Demo-{rng.randrange(16**12):012x}"
    for name in (f"moved{run}.com", f"xfer-refused-{run}.net"):
        batch.add({"kind": "transfer", "domain": name, "auth_code": code, "owner": owner}, "transfer")
    expires = today + timedelta(days=200)
    for name in (f"keep{run}.com", f"dns{run}.net"):
        batch.seeds["gandi"].append({"fqdn": name, "owner": "us", "expires": expires.isoformat()})
        batch.inventory.append((name, "gandi", expires))
    nameservers = ["ns1.example.net", "ns2.example.org"]
    batch.add({"kind": "nameservers", "domain": f"dns{run}.net", "nameservers": nameservers}, "nameservers")
    batch.api_jobs.append({"kind": "lock", "domain": f"keep{run}.com", "locked": True})
    batch.planned["lock"] += 1
    batch.auth_code_domain = f"keep{run}.com"


def build_batch(total: int, seed: int = 7, day2: bool = False, run: int | None = None) -> Batch:
    """``day2``: add :func:`add_day2`'s jobs (a stack that follows transfers every few seconds only).
    ``run``: the tag in every generated name (default: drawn from ``seed``); ``regq demo`` gives each run
    its own, so a rerun against the same database submits new jobs rather than the last run's names."""
    rng = random.Random(seed)
    batch = Batch()
    drawn = rng.randint(1000, 9999)  # drawn either way: the rest of the batch is the same for a seed
    run = drawn if run is None else run
    today = date.today()
    n_invalid, n_dupes, n_taken, n_dry = 5, 6, 3, 2
    n_rest = max(0, total - n_invalid - n_dupes - n_taken - n_dry - (4 if day2 else 0))
    n_renew, n_lookup, n_ro = n_rest // 5, n_rest // 8, n_rest // 8
    n_gtld = n_rest - n_renew - n_lookup - n_ro
    registered: list[dict[str, Any]] = []
    for i in range(n_gtld):
        job: dict[str, Any] = {
            "kind": "register",
            "domain": f"demo{run}-{i}.{rng.choice(TLDS)}",
            "years": rng.randint(1, 3),
            "owner": person(rng, rng.choice(["FR", "DE", "RO"])),
        }
        job["owner"].pop("cnp", None)
        batch.add(job, "register")
        registered.append(job)
    for i in range(n_ro):
        owner = person(rng, "RO") if i % 3 else company(rng)
        job = {"kind": "register", "domain": f"demo{run}-{i}.ro", "years": 1, "owner": owner}
        if i == 0:  # an in-zone nameserver: its glue record is created at the registry first
            job["nameservers"] = [f"ns1.demo{run}-0.ro", "ns2.example.net"]
            job["glue"] = {f"ns1.demo{run}-0.ro": ["185.199.108.153"]}
        batch.add(job, "register")
        registered.append(job)
    for i in range(n_renew):
        tld = "ro" if i % 4 == 0 else rng.choice(TLDS)
        provider = "rotld" if tld == "ro" else "gandi"
        name = f"held{run}-{i}.{tld}"
        expires = today + timedelta(days=rng.randint(5, 300))
        batch.seeds[provider].append({"fqdn": name, "owner": "us", "expires": expires.isoformat()})
        batch.inventory.append((name, provider, expires))
        batch.add({"kind": "renew", "domain": name, "years": rng.randint(1, 2)}, "renew")
    for i in range(n_lookup):
        if i < len(LOOKUP_NAMES):  # registered names the sandbox's RDAP / WHOIS stand-ins answer for
            batch.add({"kind": "lookup", "domain": LOOKUP_NAMES[i]}, "lookup")
        elif i % 2:  # a name nobody holds: a complete answer, registered false
            tld = rng.choice(("com", "net", "eu"))  # TLDs the stand-ins answer "not found" for
            batch.add({"kind": "lookup", "domain": f"look{run}-{i}.{tld}"}, "lookup")
        else:
            name = f"look{run}-{i}.{rng.choice(TLDS + ('ro',))}"
            batch.add({"kind": "lookup", "domain": name, "availability": True}, "lookup")
    for i in range(n_taken):
        name = f"taken{run}-{i}.com"
        batch.seeds["gandi"].append(
            {"fqdn": name, "owner": "other", "expires": (today + timedelta(365)).isoformat()}
        )
        batch.add({"kind": "register", "domain": name, "owner": person(rng)}, "register")
    for i in range(n_dry):
        batch.add(
            {"kind": "register", "domain": f"dry{run}-{i}.net", "owner": person(rng), "dry_run": True},
            "register",
        )
    if day2:
        add_day2(batch, rng, run, today)
    for job in rng.sample(registered, min(n_dupes, len(registered))):
        batch.add(job, "duplicate")
    invalid: list[dict[str, Any]] = [
        {"kind": "register", "domain": f"bad{run}.de", "owner": person(rng)},
        {"kind": "register", "domain": f"bad{run}.com", "years": 11, "owner": person(rng)},
        {"kind": "register", "domain": f"bad{run}.ro", "owner": {**person(rng, "RO"), "cnp": None}},
        {"kind": "renew", "domain": f"unknown{run}.com"},
        {"kind": "register", "domain": f"-bad{run}-.com", "owner": person(rng)},
    ]
    for job in invalid[:n_invalid]:
        batch.add(job, "invalid")
    # Duplicates must follow their original: shuffle the rest, keep them (and the invalid ones) at the end.
    head = len(batch.lines) - n_dupes - n_invalid
    main = batch.lines[:head]
    rng.shuffle(main)
    batch.lines = main + batch.lines[head:]
    return batch


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """The most requests inside any ``width``-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > width:
            start += 1
        best = max(best, end - start + 1)
    return best
