"""A registrant contact, with the checks Gandi and ROTLD apply (RO: CNP or CUI + registration number)."""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.ro import cnp as ro_cnp
from stdnum.ro import cui as ro_cui

_PHONE = re.compile(r"^\+\d{1,3}\.\d{4,14}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REGISTRATION_NUMBER = re.compile(r"^[JFC]\s?\d{1,4}/\d{1,8}/\d{4}$|^J\d{13}$")


class ContactType(StrEnum):
    PERSON = "person"
    COMPANY = "company"
    ASSOCIATION = "association"
    PUBLIC_BODY = "public_body"
    RESELLER = "reseller"


#: Gandi's ``type`` integers.
GANDI_TYPE = {
    ContactType.PERSON: 0,
    ContactType.COMPANY: 1,
    ContactType.ASSOCIATION: 2,
    ContactType.PUBLIC_BODY: 3,
    ContactType.RESELLER: 4,
}
#: ROTLD ``person_type`` codes (p person, c company, nc non-commercial org, pi public institution).
ROTLD_PERSON_TYPE = {
    ContactType.PERSON: "p",
    ContactType.COMPANY: "c",
    ContactType.ASSOCIATION: "nc",
    ContactType.PUBLIC_BODY: "pi",
    ContactType.RESELLER: "c",
}

#: Fields holding personal data: kept out of reprs, logs, audit rows and broker messages.
PERSONAL_FIELDS = frozenset({"email", "phone", "cnp"})


class Contact(BaseModel):
    """The registrant. Phone in ``+CC.NUMBER`` form; country as ISO 3166 alpha-2."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    type: ContactType = ContactType.PERSON
    given: str = Field(min_length=1, max_length=100)
    family: str = Field(min_length=1, max_length=100)
    orgname: str | None = Field(None, max_length=128)
    email: str = Field(max_length=254, repr=False)
    phone: str = Field(repr=False)
    streetaddr: str = Field(min_length=1, max_length=255)
    city: str = Field(min_length=1, max_length=40)
    zip: str | None = Field(None, max_length=16)
    state: str | None = Field(None, max_length=64)
    country: str
    cnp: str | None = Field(None, repr=False, description="Romanian personal numeric code (persons, RO)")
    cui: str | None = Field(None, description="Romanian company fiscal code (companies, RO)")
    registration_number: str | None = Field(None, description="Trade register number, e.g. J40/1234/2020")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        compact = value.replace(" ", "")
        if not _PHONE.match(compact):
            raise ValueError("expected +CC.NUMBER, e.g. +40.727636787")
        return compact

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: object) -> str:
        text = str(value).strip().upper()
        if not _COUNTRY.match(text):
            raise ValueError("expected an ISO 3166 alpha-2 code such as RO or FR")
        return text

    @field_validator("cnp")
    @classmethod
    def _cnp(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not ro_cnp.is_valid(value):
            raise ValueError("not a valid CNP (13 digits with a correct check digit and birth date)")
        return ro_cnp.compact(value)

    @field_validator("cui")
    @classmethod
    def _cui(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not ro_cui.is_valid(value):
            raise ValueError("not a valid CUI (fiscal code with a correct check digit)")
        return ro_cui.compact(value)

    @field_validator("registration_number")
    @classmethod
    def _regno(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().upper()
        if not _REGISTRATION_NUMBER.match(text):
            raise ValueError("expected a trade register number such as J40/1234/2020")
        return text

    @model_validator(mode="after")
    def _organisation(self) -> Contact:
        if self.type is not ContactType.PERSON and not self.orgname:
            raise ValueError("orgname is required for a company, association, public body or reseller")
        return self

    def romanian_problems(self) -> list[tuple[str, str]]:
        """What ROTLD would refuse for a Romanian registrant: (field, reason) pairs."""
        if self.country != "RO":
            return []
        if self.type is ContactType.PERSON:
            return [] if self.cnp else [("cnp", "required for a Romanian person registering a .ro domain")]
        problems = []
        if not self.cui:
            problems.append(("cui", "required for a Romanian organisation registering a .ro domain"))
        if self.type in (ContactType.COMPANY, ContactType.RESELLER) and not self.registration_number:
            problems.append(("registration_number", "required for a Romanian company (.ro)"))
        return problems

    @property
    def display_name(self) -> str:
        return self.orgname or f"{self.given} {self.family}"

    def fingerprint(self) -> str:
        """A stable hash of the registrant's data: one registry contact per distinct registrant."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
