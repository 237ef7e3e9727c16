"""ROTLD contact validation (``contact-create``), Romanian CNP / CUI check digits included.

Result codes (see also :mod:`sandbox.rotld`):

* ``10001`` a required parameter is missing (``name``, ``address1``, ``city``, ``state_province``,
  ``country_code``, ``email``, ``person_type``, ``phone``)
* ``50102`` name not 2-128 characters
* ``50106`` person_type not one of p, ap, nc, c, gi, pi, o
* ``50122`` address invalid: address1 too long, city longer than 40, state_province/postal_code too long,
  state_province an ISO 3166-2 code rather than text, country_code not ISO 3166-1 alpha-2
* ``50125`` email invalid
* ``50129`` phone or fax not like ``+40.727636787``
* ``50137`` country RO: ``cnp_fiscal_code`` missing or failing its check digit (CNP for ``p``, CUI for
  the others), or ``registration_number`` missing for ``c``
"""

from __future__ import annotations

import re
from datetime import date

from sandbox.rotld_errors import RotldError, require

REQUIRED = ("name", "address1", "city", "state_province", "country_code", "email", "person_type", "phone")
OPTIONAL = ("address2", "address3", "postal_code", "fax", "cnp_fiscal_code", "registration_number")
PERSON_TYPES = ("p", "ap", "nc", "c", "gi", "pi", "o")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+\d{1,3}\.\d{4,14}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
#: ``state_province`` is text: a county or Bucharest sector name ("Cluj", "Sector 6"), not a code.
#: Source: ROTLD's REST API 2.0 documentation (https://rest2-test.rotld.ro:6080/), contact-create, lists it
#: among the free-text address fields (no code format, unlike ``country_code`` "(ISO-2)"), and issue 8
#: point 4 ("ROTLD's `state_province`, which takes text (`Sector 6`)"). No public source gives the code
#: ROTLD answers for a code there: 50122 (address invalid) is this stand-in's choice. It refuses an ISO
#: 3166-2 code (``RO-B``, ``FR-IDF``) so that a gateway sending Gandi's form to ROTLD is caught.
STATE_CODE_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$", re.IGNORECASE)
CNP_WEIGHTS = (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)
CUI_WEIGHTS = (7, 5, 3, 2, 1, 7, 5, 3, 2)
CENTURY = {"1": 1900, "2": 1900, "3": 1800, "4": 1800, "5": 2000, "6": 2000, "7": 1900, "8": 1900, "9": 1900}


def cnp_is_valid(value: str) -> bool:
    """Romanian personal numeric code: 13 digits, a real birth date, check digit."""
    if not re.fullmatch(r"[1-9]\d{12}", value):
        return False
    try:
        date(CENTURY[value[0]] + int(value[1:3]), int(value[3:5]), int(value[5:7]))
    except ValueError:
        return False
    check = sum(int(d) * w for d, w in zip(value[:12], CNP_WEIGHTS, strict=True)) % 11
    return (1 if check == 10 else check) == int(value[12])


def cui_is_valid(value: str) -> bool:
    """Romanian company fiscal code (CUI/CIF), with or without the ``RO`` prefix."""
    number = value.upper().removeprefix("RO").strip()
    if not re.fullmatch(r"[1-9]\d{1,9}", number):
        return False
    padded = number.zfill(10)
    check = sum(int(d) * w for d, w in zip(padded[:9], CUI_WEIGHTS, strict=True)) * 10 % 11 % 10
    return check == int(padded[9])


def validate_contact(form: dict[str, str]) -> dict[str, str]:
    """The stored contact, or raise :class:`RotldError`."""
    require(form, *REQUIRED)
    contact = {k: form[k].strip() for k in REQUIRED + OPTIONAL if form.get(k, "").strip()}
    if not 2 <= len(contact["name"]) <= 128:
        raise RotldError("50102", "Invalid contact name (2-128 characters)")
    person_type = contact["person_type"].lower()
    if person_type not in PERSON_TYPES:
        raise RotldError("50106", f"Invalid person_type; one of {', '.join(PERSON_TYPES)}")
    contact["person_type"] = person_type
    country = contact["country_code"].upper()
    contact["country_code"] = country
    if not COUNTRY_RE.match(country):
        raise RotldError("50122", "Invalid country_code (ISO 3166-1 alpha-2)")
    limits = {"address1": 255, "address2": 255, "address3": 255, "city": 40, "state_province": 64}
    for key, limit in {**limits, "postal_code": 16}.items():
        if len(contact.get(key, "")) > limit:
            raise RotldError("50122", f"Invalid {key} (at most {limit} characters)")
    if STATE_CODE_RE.match(contact["state_province"]):
        raise RotldError(
            "50122", "Invalid state_province (the county or sector name, not an ISO 3166-2 code)"
        )
    if not EMAIL_RE.match(contact["email"]):
        raise RotldError("50125", "Invalid email address")
    for key in ("phone", "fax"):
        if key in contact and not PHONE_RE.match(contact[key]):
            raise RotldError("50129", f"Invalid {key} number (expected +40.727636787)")
    if country == "RO":
        code = contact.get("cnp_fiscal_code")
        if not code:
            raise RotldError("50137", "cnp_fiscal_code is mandatory for Romanian contacts")
        valid = cnp_is_valid(code) if person_type == "p" else cui_is_valid(code)
        if not valid:
            raise RotldError("50137", "Invalid cnp_fiscal_code (check digit)")
        if person_type == "c" and not contact.get("registration_number"):
            raise RotldError("50137", "registration_number is mandatory for Romanian companies")
    return contact
