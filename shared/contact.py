"""A registrant contact, with the checks Gandi and ROTLD apply (RO: CNP or CUI + registration number).

Country, subdivision and phone are checked against the standards' own data: ISO 3166-1 and ISO 3166-2
through pycountry, ITU country calling codes and number lengths through phonenumbers.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from enum import StrEnum
from functools import cache

import phonenumbers
import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from stdnum.ro import cnp as ro_cnp
from stdnum.ro import cui as ro_cui

#: ``+CC.NUMBER`` (Gandi and ROTLD) or E.164 ``+CCNUMBER``, once spaces and hyphens are dropped.
_PHONE = re.compile(r"^\+(?:(\d{1,3})\.(\d{4,14})|(\d{5,17}))$")
_PHONE_SEPARATORS = re.compile(r"[\s-]")
_PHONE_FORMAT = "expected +CC.NUMBER, e.g. +40.727636787"
_PHONE_LENGTH = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "of a length no number has",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short (a local number without its area code)",
}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
#: Codes people write for a country that ISO 3166-1 spells otherwise.
_COUNTRY_HINTS = {"UK": "GB (United Kingdom)", "EL": "GR (Greece)"}
#: An ISO 3166-2 code: the country's alpha-2, a hyphen, up to three letters or digits (``FR-IDF``, ``RO-B``).
_SUBDIVISION_CODE = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")
_SUBDIVISION_PART = re.compile(r"^[A-Z0-9]{1,3}$")
#: France's region codes withdrawn by ISO 3166-2 in 2016 (newsletter II-3), each to the region that took it
#: over. Gandi's own API documentation still gives ``FR-J`` (Ile-de-France) as its example of ``state``.
_WITHDRAWN_SUBDIVISIONS = {
    "FR-A": "FR-GES",  # Alsace
    "FR-B": "FR-NAQ",  # Aquitaine
    "FR-C": "FR-ARA",  # Auvergne
    "FR-D": "FR-BFC",  # Bourgogne
    "FR-E": "FR-BRE",  # Bretagne
    "FR-F": "FR-CVL",  # Centre
    "FR-G": "FR-GES",  # Champagne-Ardenne
    "FR-H": "FR-20R",  # Corse
    "FR-I": "FR-BFC",  # Franche-Comte
    "FR-J": "FR-IDF",  # Ile-de-France
    "FR-K": "FR-OCC",  # Languedoc-Roussillon
    "FR-L": "FR-NAQ",  # Limousin
    "FR-M": "FR-GES",  # Lorraine
    "FR-N": "FR-OCC",  # Midi-Pyrenees
    "FR-O": "FR-HDF",  # Nord-Pas-de-Calais
    "FR-P": "FR-NOR",  # Basse-Normandie
    "FR-Q": "FR-NOR",  # Haute-Normandie
    "FR-R": "FR-PDL",  # Pays de la Loire
    "FR-S": "FR-HDF",  # Picardie
    "FR-T": "FR-NAQ",  # Poitou-Charentes
    "FR-U": "FR-PAC",  # Provence-Alpes-Cote d'Azur
    "FR-V": "FR-ARA",  # Rhone-Alpes
}
_REGISTRATION_NUMBER = re.compile(r"^[JFC]\s?\d{1,4}/\d{1,8}/\d{4}$|^J\d{13}$")
#: Control characters (NUL, line breaks, tabs, C1), line/paragraph separators and bidi embeddings,
#: overrides and isolates: never part of a contact, and a way to forge log lines or spoof what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TEXT_FIELDS = (
    "given", "family", "orgname", "email", "phone", "streetaddr", "city", "zip", "state", "cnp", "cui",
    "registration_number",
)  # fmt: skip


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
    # ``country`` comes before ``state``: the state is checked against it (pydantic validates in this order).
    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. RO, FR")
    state: str | None = Field(
        None,
        max_length=64,
        description=(
            "ISO 3166-2 subdivision code of the country (FR-IDF, RO-B; or its last part, e.g. CA for US) "
            "or free text (Sector 6). Gandi gets the code, ROTLD the text."
        ),
    )
    cnp: str | None = Field(None, repr=False, description="Romanian personal numeric code (persons, RO)")
    cui: str | None = Field(None, description="Romanian company fiscal code (companies, RO)")
    registration_number: str | None = Field(None, description="Trade register number, e.g. J40/1234/2020")

    @field_validator(*_TEXT_FIELDS)
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        # After whitespace is stripped (a trailing newline stays harmless); the value is never echoed.
        if value is not None and _CONTROL.search(value):
            raise ValueError("must not contain control characters (NUL, line breaks, tabs, bidi controls)")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: object) -> str:
        text = str(value).strip().upper()
        if not _COUNTRY.match(text):
            raise ValueError("expected an ISO 3166 alpha-2 code such as RO or FR")
        if pycountry.countries.get(alpha_2=text) is None:
            hint = f"; did you mean {_COUNTRY_HINTS[text]}?" if text in _COUNTRY_HINTS else ""
            raise ValueError(f"{text} is not an ISO 3166-1 alpha-2 country code{hint}")
        return text

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if not value:  # an empty state is no state, as before
            return None
        if country is None:  # the country failed: its own error is reported, not this one
            return value
        return normalise_state(value, country)

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

    @property
    def state_code(self) -> str | None:
        """The ISO 3166-2 code of ``state`` (Gandi's ``state``), or None when it is text naming no subdivision
        of the country that pycountry knows."""
        if self.state is None:
            return None
        if _SUBDIVISION_CODE.match(self.state):
            return self.state
        return _subdivision_named(self.country, self.state)

    @property
    def state_text(self) -> str | None:
        """``state`` as text (ROTLD's ``state_province``): the text given, or the subdivision's name for a
        code (``RO-B`` -> ``București``). None when no state was given."""
        if self.state is None or not _SUBDIVISION_CODE.match(self.state):
            return self.state
        return _subdivisions(self.country).get(self.state, self.state)

    def fingerprint(self) -> str:
        """A stable hash of the registrant's data: one registry contact per distinct registrant."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def normalise_phone(value: str) -> str:
    """``value`` as ``+CC.NUMBER``, the form Gandi and ROTLD take, or ValueError (never echoing the number).

    Accepts ``+CC.NUMBER`` and E.164 ``+CCNUMBER``, with spaces or hyphens; the calling code must be one the
    ITU assigned and the number's length possible for it (phonenumbers' metadata). A national trunk prefix
    written after the calling code (``+33.06...``) is dropped, as E.164 has none; Italy's leading 0 stays.
    """
    match = _PHONE.match(_PHONE_SEPARATORS.sub("", value))
    if not match:
        raise ValueError(_PHONE_FORMAT)
    calling_code, national, whole = match.groups()
    if calling_code is not None and int(calling_code) not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        raise ValueError(f"the country calling code is not one in use ({_PHONE_FORMAT})")
    try:
        number = phonenumbers.parse("+" + (whole or calling_code + national))
    except phonenumbers.NumberParseException:
        raise ValueError(f"the country calling code is not one in use ({_PHONE_FORMAT})") from None
    verdict = phonenumbers.is_possible_number_with_reason(number)
    if verdict == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        raise ValueError(f"the country calling code is not one in use ({_PHONE_FORMAT})")
    if verdict != phonenumbers.ValidationResult.IS_POSSIBLE:
        problem = _PHONE_LENGTH.get(verdict, "not a possible number")
        raise ValueError(f"the number is {problem} for its country calling code")
    code = str(number.country_code)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"+{code}.{e164[len(code) + 1 :]}"


def normalise_state(value: str, country: str) -> str:
    """``value`` as stored: an ISO 3166-2 code of ``country`` upper-cased (a withdrawn French region code
    replaced by its successor, a bare ``CA`` completed to ``US-CA``), or free text as given.

    A value shaped like a code (``XX-YYY``) must be a subdivision of ``country`` that pycountry knows, else
    ValueError saying why.
    """
    text = value.strip()
    upper = text.upper()
    shaped = _SUBDIVISION_CODE.match(upper)
    if shaped:
        prefix = shaped.group(1)
        if prefix != country:
            whose = f"of {prefix}" if pycountry.countries.get(alpha_2=prefix) else f"for {prefix}, no country"
            raise ValueError(f"{upper} is an ISO 3166-2 code {whose}, not of the contact's country {country}")
        code = _WITHDRAWN_SUBDIVISIONS.get(upper, upper)
        if code not in _subdivisions(country):
            raise ValueError(f"{upper} is not an ISO 3166-2 subdivision of {country}")
        return code
    if _SUBDIVISION_PART.match(text) and f"{country}-{text}" in _subdivisions(country):
        return f"{country}-{text}"
    return text


@cache
def _subdivisions(country: str) -> dict[str, str]:
    """ISO 3166-2 code -> name, for one country (empty for a country without subdivisions)."""
    found = pycountry.subdivisions.get(country_code=country) or []
    return {sub.code: sub.name for sub in found}


@cache
def _names(country: str) -> dict[str, str | None]:
    """Folded subdivision name -> its code; None for a name two subdivisions share (no guess)."""
    names: dict[str, str | None] = {}
    for code, name in _subdivisions(country).items():
        key = _fold(name)
        names[key] = None if key in names else code
    return names


def _subdivision_named(country: str, text: str) -> str | None:
    return _names(country).get(_fold(text))


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: ``Bucuresti`` and ``BUCUREȘTI`` fold alike, ``’`` as ``'``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())
