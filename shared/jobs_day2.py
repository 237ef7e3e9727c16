"""Day-2 job kinds (issue 20): transfer a domain in, lock or unlock it, change its contacts, manage the
glue of hosts under it, change its owner (registrant). Validated at submit like every job
(:func:`shared.jobs.parse_job`); re-exported by :mod:`shared.jobs`, whose union :data:`shared.jobs.Job`
holds them.

A transfer's auth code is a secret: a :class:`pydantic.SecretStr` (``repr``, ``str`` and the JSON dump show
``**********``), hashed into :meth:`TransferJob.params` (same code = same job, another = IdempotencyConflict),
stored in ``jobs.params`` (:meth:`TransferJob.stored_params`) only for the worker that sends it, which then
scrubs it to :data:`SCRUBBED` (a scrubbed job still parses: its code was sent already).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from shared.contact import Contact
from shared.jobs_base import (
    MAX_GLUE_ADDRESSES,
    MAX_NAMESERVERS,
    _glue_address,
    _RegistrarDomainJob,
    _RegistrarJob,
    check_nameserver_count,
    in_zone,
    nameserver_hosts,
)
from shared.names import Registrar, parse_hostname

#: What a started transfer's stored auth code becomes (engineer B's ``scrub_params``).
SCRUBBED = "***"
MAX_AUTH_CODE_LENGTH = 255
#: ROTLD takes 1 or 2 addresses per host (nameserver-create/update: "Maximum allowed number of IPs is 2").
ROTLD_MAX_GLUE_ADDRESSES = 2
#: The contact roles besides the registrant (Gandi's admin, bill, tech).
OTHER_ROLES = ("admin", "bill", "tech")
_ROTLD_ONE_CONTACT = "rotld keeps only the registrant contact (owner)"
_TRANSFER_ROLE = "gandi only: sent with the transfer; rotld's domain-transfer takes no contacts (refused)"


def clean_auth_code(value: object) -> SecretStr:
    """An auth code as a SecretStr, or ValueError saying why (never showing the value)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    code = raw.strip()
    if not code:
        raise ValueError("must not be empty")
    if len(code) > MAX_AUTH_CODE_LENGTH:
        raise ValueError(f"at most {MAX_AUTH_CODE_LENGTH} characters")
    if not code.isprintable() or any(c.isspace() for c in code):
        raise ValueError("must be printable characters without spaces")
    return SecretStr(code)


def _rotld_refuses_roles(job: Any) -> None:
    for role in OTHER_ROLES:
        if getattr(job, role) is not None:
            raise ValueError(f"{role}: {_ROTLD_ONE_CONTACT}")


class TransferJob(_RegistrarJob):
    """Transfer ``domain`` in with the losing registrar's ``auth_code`` (ROTLD: the registry's
    authorization key). Gandi: ``owner`` (required), ``admin``/``bill``/``tech`` and ``years`` (the renewal
    that comes with it); ROTLD's domain-transfer takes only the domain and the key (``owner``, ``years``
    ignored). ``nameservers``: set after the transfer completes (hosts outside the domain)."""

    # A pydantic error's text never shows the input (it would be the code).
    model_config = ConfigDict(hide_input_in_errors=True)

    kind: Literal["transfer"] = "transfer"
    auth_code: SecretStr = Field(
        description="The transfer authorization code (EPP auth-info; ROTLD: the authorization key): "
        f"1 to {MAX_AUTH_CODE_LENGTH} printable characters, no spaces. Never shown back.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_AUTH_CODE_LENGTH, "writeOnly": True},
    )
    owner: Contact | None = Field(None, description="The registrant (required for gandi; rotld ignores it)")
    admin: Contact | None = Field(None, description=_TRANSFER_ROLE)
    bill: Contact | None = Field(None, description=_TRANSFER_ROLE)
    tech: Contact | None = Field(None, description=_TRANSFER_ROLE)
    nameservers: list[str] = Field(default_factory=list, max_length=MAX_NAMESERVERS)

    @field_validator("auth_code", mode="before")
    @classmethod
    def _auth_code(cls, value: object) -> object:
        return clean_auth_code(value)

    @field_validator("nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        return nameserver_hosts(value)

    @model_validator(mode="after")
    def _per_registrar(self) -> TransferJob:
        if self.registrar is Registrar.GANDI and self.owner is None:
            raise ValueError("owner: required for a gandi transfer (the registrant)")
        if self.registrar is Registrar.ROTLD:
            _rotld_refuses_roles(self)
        check_nameserver_count(self.nameservers, self.registrar)
        for index, host in enumerate(self.nameservers):
            if in_zone(host, self.domain):
                raise ValueError(
                    f"nameservers.{index}: {host} is inside {self.domain} and needs glue: "
                    "set it with a nameservers job once the transfer completes"
                )
        return self

    @property
    def other_contacts(self) -> dict[str, Contact]:
        """The roles besides the owner that were given (``admin``, ``bill``, ``tech``), each its contact."""
        return {role: c for role in OTHER_ROLES if (c := getattr(self, role)) is not None}

    @property
    def scrubbed(self) -> bool:
        """The stored code was scrubbed (the registry has it): it cannot be sent again."""
        return self.auth_code.get_secret_value() == SCRUBBED

    def params(self) -> dict[str, Any]:
        """The parameters the hash covers: the auth code as its SHA-256, never the code."""
        dumped = super().params()
        dumped.pop("auth_code", None)
        code = self.auth_code.get_secret_value().encode()
        dumped["auth_code_sha256"] = hashlib.sha256(code).hexdigest()
        return dumped

    def stored_params(self) -> dict[str, Any]:
        """What ``jobs.params`` holds: the code itself (the worker sends it, then scrubs it)."""
        stored = super().params()
        stored["auth_code"] = self.auth_code.get_secret_value()
        return stored

    @classmethod
    def from_stored(cls, params: dict[str, Any], key: str | None = None) -> TransferJob:
        """The job back from ``jobs.params`` (:meth:`stored_params`; a scrubbed code parses too)."""
        return cls.model_validate({**params, "idempotency_key": key} if key else params)

    def derive_key(self) -> str:
        return f"transfer:{self.domain}"


class LockJob(_RegistrarDomainJob):
    """Lock (``locked``: true) or unlock ``domain`` against transfers out. Idempotent: each submission is
    a fresh job (like lookups)."""

    kind: Literal["lock"] = "lock"
    locked: bool = Field(strict=True, description="true: lock against transfers out; false: unlock")

    def derive_key(self) -> str:
        return f"lock:{self.domain}:{'on' if self.locked else 'off'}:{uuid.uuid4().hex}"


class ContactsJob(_RegistrarDomainJob):
    """Change ``domain``'s contacts: gandi ``admin``/``bill``/``tech`` (an owner change is its own kind);
    rotld ``owner`` (the registrant contact's address data: name, type and CNP/CUI stay as registered)."""

    kind: Literal["contacts"] = "contacts"
    owner: Contact | None = Field(None, description="rotld only: the registrant contact's address data")
    admin: Contact | None = Field(None, description="gandi only")
    bill: Contact | None = Field(None, description="gandi only")
    tech: Contact | None = Field(None, description="gandi only")

    @model_validator(mode="after")
    def _per_registrar(self) -> ContactsJob:
        if self.registrar is Registrar.ROTLD:
            _rotld_refuses_roles(self)
            if self.owner is None:
                raise ValueError("owner: required: rotld changes only the registrant contact")
        else:
            if self.owner is not None:
                raise ValueError("owner: an owner change is its own kind")
            if all(getattr(self, role) is None for role in OTHER_ROLES):
                raise ValueError("admin: give at least one of admin, bill, tech")
        return self

    @property
    def contacts(self) -> dict[str, Contact]:
        """The roles given, each with its contact (what ``update_contacts`` takes)."""
        roles = ("owner", *OTHER_ROLES)
        return {role: c for role in roles if (c := getattr(self, role)) is not None}

    def derive_key(self) -> str:
        return f"contacts:{self.domain}:{self.params_hash()[:12]}"


class GlueJob(_RegistrarDomainJob):
    """Create or change the glue (addresses) of ``hosts`` under ``domain``, and ``delete`` others."""

    kind: Literal["glue"] = "glue"
    hosts: dict[str, list[str]] = Field(
        default_factory=dict,
        description=f"Host under the domain -> its 1 to {MAX_GLUE_ADDRESSES} addresses "
        f"(rotld: 1 to {ROTLD_MAX_GLUE_ADDRESSES})",
    )
    delete: list[str] = Field(default_factory=list, description="Hosts under the domain whose glue goes")

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        hosts: dict[str, list[str]] = {}
        for raw_host, addresses in value.items():
            host = parse_hostname(raw_host)
            if host in hosts:
                raise ValueError(f"hosts.{host}: repeated")
            if not addresses or len(addresses) > MAX_GLUE_ADDRESSES:
                raise ValueError(f"hosts.{host}: give 1 to {MAX_GLUE_ADDRESSES} addresses")
            hosts[host] = sorted({_glue_address(host, a, "hosts") for a in addresses})
        return dict(sorted(hosts.items()))

    @field_validator("delete")
    @classmethod
    def _delete(cls, value: list[str]) -> list[str]:
        return nameserver_hosts(value, "delete")

    @model_validator(mode="after")
    def _in_zone(self) -> GlueJob:
        if not self.hosts and not self.delete:
            raise ValueError("hosts: give hosts to set or delete, or both")
        for host, addresses in self.hosts.items():
            if host == self.domain or not in_zone(host, self.domain):
                raise ValueError(f"hosts.{host}: not a host under {self.domain}")
            if self.registrar is Registrar.ROTLD and len(addresses) > ROTLD_MAX_GLUE_ADDRESSES:
                raise ValueError(f"hosts.{host}: rotld takes 1 to {ROTLD_MAX_GLUE_ADDRESSES} addresses")
        for index, host in enumerate(self.delete):
            if host == self.domain or not in_zone(host, self.domain):
                raise ValueError(f"delete.{index}: {host} is not a host under {self.domain}")
            if host in self.hosts:
                raise ValueError(f"delete.{index}: {host} is also in hosts (set or delete it, not both)")
        return self

    def derive_key(self) -> str:
        return f"glue:{self.domain}:{self.params_hash()[:12]}"


class OwnerChangeJob(_RegistrarJob):
    """Give ``domain`` a new registrant (``owner``): Gandi's changeowner (not always free; the old and the
    new owner confirm by e-mail), ROTLD's domain-trade (paid: ``years`` is its ``domain_period``; the
    current registrant's ``auth_code`` authorizes it). Started once, then followed like a transfer; the
    auth code is a secret like a transfer's (hashed into :meth:`params`, scrubbed once sent)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    kind: Literal["owner_change"] = "owner_change"
    owner: Contact = Field(description="The new registrant (rotld: checked like a register's owner)")
    auth_code: SecretStr | None = Field(
        None,
        description="rotld: required, the authorization key the current registrant reads in the registry's "
        "panel (domain-trade's authorization_key). gandi: refused (its owner change takes no code: the old "
        f"and new owners confirm by e-mail). 1 to {MAX_AUTH_CODE_LENGTH} printable characters, no spaces. "
        "Never shown back.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_AUTH_CODE_LENGTH, "writeOnly": True},
    )

    @field_validator("auth_code", mode="before")
    @classmethod
    def _auth_code(cls, value: object) -> object:
        return None if value is None else clean_auth_code(value)

    @model_validator(mode="after")
    def _per_registrar(self) -> OwnerChangeJob:
        if self.registrar is Registrar.ROTLD:
            if self.auth_code is None:
                raise ValueError("auth_code: required for a rotld owner change (domain-trade's key)")
            problems = self.owner.romanian_problems()
            if problems:
                field, reason = problems[0]
                raise ValueError(f"owner.{field}: {reason}")
        else:
            if self.auth_code is not None:
                raise ValueError(
                    "auth_code: gandi's owner change takes no auth code (the owners confirm by e-mail)"
                )
            if self.years != 1:
                raise ValueError("years: gandi's owner change takes no period")
        return self

    @property
    def scrubbed(self) -> bool:
        return self.auth_code is not None and self.auth_code.get_secret_value() == SCRUBBED

    def params(self) -> dict[str, Any]:
        """The parameters the hash covers: the auth code (if any) as its SHA-256, never the code."""
        dumped = super().params()
        dumped.pop("auth_code", None)
        if self.auth_code is not None:
            code = self.auth_code.get_secret_value().encode()
            dumped["auth_code_sha256"] = hashlib.sha256(code).hexdigest()
        return dumped

    def stored_params(self) -> dict[str, Any]:
        """What ``jobs.params`` holds: the code itself until the worker sends it and scrubs it."""
        stored = super().params()
        if self.auth_code is not None:
            stored["auth_code"] = self.auth_code.get_secret_value()
        return stored

    def derive_key(self) -> str:
        return f"owner_change:{self.domain}:{self.params_hash()[:12]}"


Day2Job = TransferJob | LockJob | ContactsJob | GlueJob | OwnerChangeJob
