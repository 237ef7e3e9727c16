"""Valid jobs and contacts for tests, and :func:`refusals`: what validation says of an invalid one."""

from __future__ import annotations

from typing import Any

from stdnum.ro import cnp, cui

from shared.errors import JobValidationError
from shared.jobs import parse_job


def refusals(data: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    """The reasons :func:`~shared.jobs.parse_job` refuses ``data`` with, by field (it must refuse it);
    ``secret`` (an auth code) must not show in the error."""
    try:
        parse_job(data)
    except JobValidationError as exc:
        assert secret is None or secret not in str(exc), "the secret shows in the error"
        return {p.field: p.reason for p in exc.problems}
    raise AssertionError(f"a {data.get('kind')} job parsed: a refusal was expected")


def person(country: str = "FR", **overrides: Any) -> dict[str, Any]:
    contact = {
        "given": "Ana",
        "family": "Pop",
        "email": "ana.pop@example.org",
        "phone": "+33.612345678",
        "streetaddr": "1 rue de la Paix",
        "city": "Lyon",
        "zip": "69001",
        "country": country,
    }
    if country == "RO":
        contact.update(phone="+40.727636787", city="Cluj", cnp=valid_cnp())
    contact.update(overrides)
    return contact


def company_ro(**overrides: Any) -> dict[str, Any]:
    body = "1854729"
    contact = {
        **person("RO"),
        "type": "company",
        "orgname": "Exemplu SRL",
        "cnp": None,
        "cui": body + cui.calc_check_digit(body),
        "registration_number": "J12/345/2015",
    }
    contact.update(overrides)
    return {k: v for k, v in contact.items() if v is not None}


def valid_cnp(body: str = "180010122114") -> str:
    return body + cnp.calc_check_digit(body)


def register(domain: str = "example.com", **overrides: Any) -> dict[str, Any]:
    owner = person("RO") if domain.endswith(".ro") else person()
    job = {"kind": "register", "domain": domain, "years": 1, "owner": owner}
    job.update(overrides)
    return job
