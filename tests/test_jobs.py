"""The job contract: validation names the field and the reason; keys are derived as documented."""

from __future__ import annotations

from datetime import date

import pytest

from shared.errors import JobValidationError
from shared.jobs import LookupJob, RegisterJob, derive_key, job_schema, parse_job
from testkit.factories import company_ro, person, refusals, register


def test_idn_is_stored_as_lowercase_a_label_and_registrar_inferred() -> None:
    job = parse_job(register("Exämple.COM"))
    assert job.domain == "xn--exmple-cua.com"
    assert job.domain_unicode == "exämple.com"
    assert job.registrar == "gandi"
    assert parse_job(register("exemplu.ro")).registrar == "rotld"
    assert parse_job(register("exemplu.com.ro")).registrar == "rotld"
    assert parse_job(register("example.eu")).registrar == "gandi"


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (register("www.example.com"), "domain", "did you mean example.com"),
        (register("example.de"), "domain", ".de is not supported"),
        (register("example.invalidtld"), "domain", "not a known public suffix"),
        (register("-bad-.com"), "domain", "hyphen"),
        (register("a" * 64 + ".com"), "domain", ""),
        (register("example.com", years=0), "years", "greater than or equal to 1"),
        (register("example.com", years=11), "years", "less than or equal to 10"),
        (register("example.com", registrar="rotld"), "registrar", "handled by gandi"),
        (register("example.com", owner=person(phone="0612345678")), "owner.phone", "+CC.NUMBER"),
        (register("example.com", owner=person(email="nope")), "owner.email", "e-mail"),
        (register("example.com", owner=person(country="France")), "owner.country", "ISO 3166"),
        (register("example.com", owner=person(country="XX")), "owner.country", "XX is not an ISO 3166-1"),
        (register("example.com", owner=person(state="RO-B")), "owner.state", "code of RO, not"),
        (register("example.com", owner=person(state="FR-ZZZ")), "owner.state", "not an ISO 3166-2"),
        (register("exemplu.ro", owner=person("RO", state="FR-IDF")), "owner.state", "not of the contact's"),
        (register("example.com", owner=person(phone="+999.612345678")), "owner.phone", "calling code"),
        (register("example.ro", owner=person("RO", cnp=None)), "owner.cnp", "required"),
        (register("example.ro", owner=person("RO", cnp="1800101221145")), "owner.cnp", "check digit"),
        (register("example.ro", owner=company_ro(cui="18547291")), "owner.cui", "check digit"),
        (
            register("example.ro", owner=company_ro(registration_number=None)),
            "owner.registration_number",
            "required",
        ),
        (
            register("example.com", nameservers=["ns1.example.net", "ns1.example.net"]),
            "nameservers.1",
            "repeat",
        ),
        (register("example.com", surprise=1), "surprise", "Extra inputs"),
        ({"kind": "transfer-out", "domain": "example.com"}, "kind", "register, renew, lookup"),
        ({"domain": "example.com"}, "kind", "required"),
    ],
)
def test_bad_input_names_field_and_reason(data: dict, field: str, fragment: str) -> None:
    found = refusals(data)
    assert field in found, found
    assert fragment in found[field]


def test_romanian_person_and_company_accepted() -> None:
    assert parse_job(register("exemplu.ro")).owner.cnp
    job = parse_job(register("firma.ro", owner=company_ro()))
    assert job.owner.cui and job.owner.registration_number == "J12/345/2015"


def test_personal_data_stays_out_of_repr() -> None:
    job = parse_job(register("exemplu.ro"))
    text = repr(job)
    assert job.owner.cnp not in text and job.owner.email not in text and job.owner.phone not in text


def test_keys_are_derived_and_renew_needs_an_expiry_or_a_key() -> None:
    assert derive_key(parse_job(register("Example.com"))) == "register:example.com"
    renew = parse_job({"kind": "renew", "domain": "example.com", "current_expiry": "2027-03-01"})
    assert derive_key(renew) == "renew:example.com:2027-03-01"
    bare = parse_job({"kind": "renew", "domain": "example.com"})
    assert derive_key(bare, current_expiry=date(2028, 1, 2)) == "renew:example.com:2028-01-02"
    with pytest.raises(JobValidationError) as refused:
        derive_key(bare)
    (problem,) = refused.value.problems  # names the field the caller can send (the CLI's --current-expiry)
    assert problem.field == "current_expiry" and "example.com" in problem.reason
    keyed = parse_job({"kind": "renew", "domain": "example.com", "idempotency_key": "order-17"})
    assert derive_key(keyed) == "order-17"
    lookup_a = derive_key(parse_job({"kind": "lookup", "domain": "example.com"}))
    lookup_b = derive_key(parse_job({"kind": "lookup", "domain": "Example.com"}))
    assert lookup_a == lookup_b and lookup_a.startswith("lookup:example.com:")  # a retry is the same job
    availability = derive_key(parse_job({"kind": "lookup", "domain": "example.com", "availability": True}))
    assert availability != lookup_a  # other parameters, another job
    lookup = parse_job({"kind": "lookup", "domain": "example.com"})
    assert isinstance(lookup, LookupJob)
    assert lookup.derive_key(date(2027, 1, 2)) != lookup.derive_key(date(2027, 1, 3))  # a new day, anew


def test_params_hash_ignores_the_key_but_not_the_parameters() -> None:
    a = parse_job(register("example.com", idempotency_key="k1"))
    b = parse_job(register("example.com", idempotency_key="k2"))
    c = parse_job(register("example.com", years=2))
    assert a.params_hash() == b.params_hash() != c.params_hash()


def test_schema_covers_every_kind() -> None:
    schema = job_schema()
    text = str(schema)
    for kind in ("RegisterJob", "RenewJob", "LookupJob", "Contact"):
        assert kind in text


def test_a_state_in_either_form_is_accepted_and_resolved() -> None:
    as_code = parse_job(register("exemplu.ro", owner=person("RO", state="RO-B")))
    as_text = parse_job(register("exemplu.ro", owner=person("RO", state="Sector 6")))
    assert isinstance(as_code, RegisterJob) and isinstance(as_text, RegisterJob)
    assert (as_code.owner.state_code, as_code.owner.state_text) == ("RO-B", "București")
    assert (as_text.owner.state_code, as_text.owner.state_text) == (None, "Sector 6")


def test_a_refused_phone_is_not_echoed() -> None:
    found = refusals(register("example.com", owner=person(phone="+999.612345678")))
    assert "612345678" not in found["owner.phone"] and "+999" not in found["owner.phone"]
