"""Helpers for tests and demos against the sandbox: sample contacts, waiting on a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: A valid Gandi v5 owner contact.
GANDI_OWNER: dict[str, Any] = {
    "given": "Ana",
    "family": "Popescu",
    "email": "ana@example.org",
    "streetaddr": "1 rue de la Paix",
    "city": "Paris",
    "zip": "75002",
    "country": "FR",
    "phone": "+33.123456789",
    "type": 0,
}

#: A valid ROTLD ``contact-create`` form for a Romanian person (CNP with a correct check digit).
ROTLD_PERSON: dict[str, str] = {
    "name": "Ana Popescu",
    "address1": "Str. Exemplu 1",
    "city": "Bucuresti",
    "state_province": "Bucuresti",
    "postal_code": "010101",
    "country_code": "RO",
    "email": "ana@example.ro",
    "person_type": "p",
    "phone": "+40.727636787",
    "cnp_fiscal_code": "2970816362385",
}

#: A valid ROTLD ``contact-create`` form for a Romanian company (CUI with a correct check digit).
ROTLD_COMPANY: dict[str, str] = {
    **ROTLD_PERSON,
    "name": "Exemplu SRL",
    "person_type": "c",
    "cnp_fiscal_code": "RO18547290",
    "registration_number": "J40/1234/2010",
}


def wait_for(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``condition`` until it returns a truthy value (returned); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
