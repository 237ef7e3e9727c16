"""Validation of Gandi v5 request bodies; errors in Gandi's ``{"location", "name", "description"}`` form."""

from __future__ import annotations

import re
from typing import Any

from sandbox.domains import is_valid_fqdn, normalize_fqdn

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
PHONE_RE = re.compile(r"^\+\d{1,3}\.\d{4,14}$")
#: ``state`` is an ISO 3166-2 subdivision code: the contact's ISO 3166-1 alpha-2 country, a hyphen, one to
#: three letters or digits. Source: Gandi's v5 API reference (https://api.gandi.net/docs/domains/),
#: contact fields ("`state` (e.g. `FR-J`)"), whose example is that code; the code's shape
#: is ISO 3166-2's own. What Gandi answers for anything else is not documented: this stand-in checks the
#: shape only (which codes exist is the gateway's business) and refuses a name such as "Ile-de-France" or a
#: code of another country with a 400 naming ``<role>.state``, so a gateway sending text there is caught.
STATE_RE = re.compile(r"^([A-Z]{2})-[A-Z0-9]{1,3}$")
CONTACT_STRINGS = ("given", "family", "email", "streetaddr", "city", "zip", "country", "phone")
ROLES = ("owner", "admin", "bill", "tech")


def error(location: str, name: str, description: str) -> dict[str, Any]:
    """A single-error 400 body."""
    return {"status": "error", "errors": [_err(location, name, description)]}


def _err(location: str, name: str, description: str) -> dict[str, str]:
    return {"location": location, "name": name, "description": description}


def validate_duration(value: Any, required: bool = False) -> str | None:
    if value is None:
        return "Field required" if required else None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        return "duration must be an integer between 1 and 10"
    return None


def validate_nameservers(value: Any, required: bool = False) -> str | None:
    if value is None:
        return "Field required" if required else None
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        return "nameservers must be a list of strings"
    if len(value) > 13:
        return "at most 13 nameservers"
    for host in value:
        if not is_valid_fqdn(normalize_fqdn(host)):
            return f"invalid nameserver hostname {host!r}"
    return None


def contact_errors(role: str, contact: Any) -> list[dict[str, str]]:
    if not isinstance(contact, dict):
        return [_err("body", role, "must be an object")]
    errors = []
    for name in CONTACT_STRINGS:
        value = contact.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(_err("body", f"{role}.{name}", "Field required"))
    checks = (
        ("email", EMAIL_RE, "Invalid email address"),
        ("country", COUNTRY_RE, "Must be an ISO 3166-1 alpha-2 country code"),
        ("phone", PHONE_RE, "Invalid phone number, expected format +CC.NNNNNNNN"),
    )
    for name, pattern, description in checks:
        value = contact.get(name)
        if isinstance(value, str) and value.strip() and not pattern.match(value):
            errors.append(_err("body", f"{role}.{name}", description))
    state = contact.get("state")
    if state is not None:
        shaped = STATE_RE.match(state) if isinstance(state, str) else None
        if not shaped or shaped.group(1) != contact.get("country"):
            errors.append(
                _err(
                    "body",
                    f"{role}.state",
                    "Must be an ISO 3166-2 subdivision code of the country, e.g. FR-J",
                )
            )
    kind = contact.get("type")
    if isinstance(kind, bool) or not isinstance(kind, int) or not 0 <= kind <= 4:
        errors.append(_err("body", f"{role}.type", "type must be an integer between 0 and 4"))
    return errors


def validate_create(body: Any) -> list[dict[str, str]]:
    """All the problems of a ``POST /domain/domains`` body (empty list when valid)."""
    if not isinstance(body, dict):
        return [_err("body", "body", "Expected a JSON object")]
    errors: list[dict[str, str]] = []
    fqdn = body.get("fqdn")
    if not isinstance(fqdn, str) or not fqdn.strip():
        errors.append(_err("body", "fqdn", "Field required"))
    else:
        name = normalize_fqdn(fqdn)
        if not is_valid_fqdn(name) or name.split(".", 1)[0].startswith("invalid-"):
            errors.append(_err("body", "fqdn", f"Invalid domain name {fqdn!r}"))
        elif name.split(".", 1)[0].startswith("premium-") and body.get("enforce_premium") is not True:
            errors.append(_err("body", "enforce_premium", "Premium domain: set enforce_premium and price"))
    if "owner" not in body:
        errors.append(_err("body", "owner", "Field required"))
    for role in ROLES:
        if role in body and (role == "owner" or body[role] is not None):
            errors.extend(contact_errors(role, body[role]))
    problem = validate_duration(body.get("duration"))
    if problem:
        errors.append(_err("body", "duration", problem))
    problem = validate_nameservers(body.get("nameservers"))
    if problem:
        errors.append(_err("body", "nameservers", problem))
    return errors
