"""The job models' foundations: the base of every job, and the nameserver set with its glue.

:mod:`shared.jobs` (register, renew, lookup, nameservers, sync) and :mod:`shared.jobs_day2` (transfer, lock,
contacts, glue) build on these; :mod:`shared.jobs` re-exports them, so importing from it keeps working.
Kinds and statuses are :mod:`shared.job_status`'s (no pydantic there: ``regq status`` reads them alone).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared import defaults
from shared.names import DomainName, Registrar, parse_domain, parse_hostname
from shared.script_policy import name_problem
from shared.tlds import catalogue_in, registrar_for

MAX_KEY_LENGTH = 200
#: Why a key is refused, in the body (``idempotency_key``) and the header (``Idempotency-Key``) alike.
KEY_CHARACTERS = (
    "must be printable ASCII characters only (U+0020-U+007E), as the Idempotency-Key header carries it"
)
MAX_NAMESERVERS = 13
#: How many nameservers each registry takes: ROTLD 6 (its REST API's domain-reset-ns schema:
#: https://github.com/alinchican/rotld-rest-client schema/domain-reset-ns.schema.js), Gandi 13.
REGISTRAR_MAX_NAMESERVERS = {Registrar.GANDI: MAX_NAMESERVERS, Registrar.ROTLD: 6}
MAX_GLUE_ADDRESSES = 13
MAX_CALLBACK_URL_LENGTH = defaults.WEBHOOK_MAX_URL_LENGTH


def check_callback_url(value: str) -> str:
    """A completion webhook's URL: absolute http(s) with a host, no user-info (credentials), printable,
    at most MAX_CALLBACK_URL_LENGTH characters. Where it may point is the outbound policy's call, at
    delivery (private addresses are refused unless REGQ_WEBHOOK_ALLOW_PRIVATE)."""
    if len(value) > MAX_CALLBACK_URL_LENGTH:
        raise ValueError(f"at most {MAX_CALLBACK_URL_LENGTH} characters")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@); the payload is signed instead")
    return value


class _JobBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    domain: str = Field(description="Domain name; Unicode or A-label, stored as the lower-cased A-label")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=MAX_KEY_LENGTH, description="Same key + same parameters = same job"
    )
    callback_url: str | None = Field(
        None,
        max_length=MAX_CALLBACK_URL_LENGTH,
        description="POSTed a signed completion event when the job ends (a lookup: also when partial); "
        "not a parameter of the job (the same job with another callback is a duplicate)",
    )
    # The API token (its name) that submitted the job: its secret signs the webhooks. Set by the API,
    # never by a body (a private attribute is no field).
    _submitted_by: str | None = PrivateAttr(None)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        return parse_domain(value).ascii

    @field_validator("idempotency_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        # ASCII: the same key must be sendable as the Idempotency-Key header (HTTP header values are
        # ASCII; the header's draft makes it a Structured Field String, printable ASCII only:
        # https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/ , RFC 8941 3.3.3).
        if value is not None and not (value.isascii() and value.isprintable()):
            raise ValueError(KEY_CHARACTERS)
        return value

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        return check_callback_url(value) if value is not None else None

    @property
    def submitted_by(self) -> str | None:
        return self._submitted_by

    def submitted_as(self, token_name: str, default_callback: str | None = None) -> Self:
        """This job as submitted with the API token ``token_name``, whose callback is the default."""
        update = {} if self.callback_url or not default_callback else {"callback_url": default_callback}
        job = self.model_copy(update=update)
        job._submitted_by = token_name
        return job

    @property
    def name(self) -> DomainName:
        return parse_domain(self.domain)

    @property
    def domain_unicode(self) -> str:
        return self.name.unicode

    def params(self) -> dict[str, Any]:
        """The parameters that define the job (everything but the key), JSON-ready."""
        return self.model_dump(mode="json", exclude={"idempotency_key", "callback_url"})

    def stored_params(self) -> dict[str, Any]:
        """What ``jobs.params`` holds, the worker's copy: :meth:`params`, unless a job must carry more than
        its hash covers (a transfer's auth code, until the registry has it)."""
        return self.params()

    def params_hash(self) -> str:
        canonical = json.dumps(self.params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class _RegistrarDomainJob(_JobBase):
    """A job on a registrable domain at its registrar (inferred from the TLD; a given one must match)."""

    registrar: Registrar | None = Field(None, description="Inferred from the TLD when omitted")

    @model_validator(mode="after")
    def _registrable(self, info: ValidationInfo) -> _RegistrarDomainJob:
        name = parse_domain(self.domain)
        if not name.is_registrable:
            raise ValueError(
                f"domain: {name.ascii} is not a registrable name; did you mean {name.registrable}?"
            )
        try:
            # the caller's catalogue (validation context "tlds"), else the process's (shared/tlds/source.py)
            inferred = registrar_for(name, catalogue_in(info.context))
        except ValueError as exc:
            raise ValueError(f"domain: {exc}") from None
        mixed = name_problem(name.unicode)  # UTS 39 registry policy (shared/script_policy.py)
        if mixed is not None:
            raise ValueError(f"domain: {mixed}")
        if self.registrar is not None and self.registrar is not inferred:
            raise ValueError(
                f"registrar: .{name.tld} is handled by {inferred.value}, not {self.registrar.value}"
            )
        object.__setattr__(self, "registrar", inferred)
        return self


class _RegistrarJob(_RegistrarDomainJob):
    """A registrar job with a term in ``years``."""

    years: int = Field(1, ge=1, le=10)

    @field_validator("years", mode="before")
    @classmethod
    def _years(cls, value: object) -> object:
        if isinstance(value, bool):  # pydantic would read true as 1 year
            raise ValueError("must be a whole number of years, not true or false")
        return value


def nameserver_hosts(value: list[str], field: str = "nameservers") -> list[str]:
    """Host names, checked and lower-cased A-labels, none repeated (the repeat is named by its index)."""
    hosts = [parse_hostname(v) for v in value]
    for index, host in enumerate(hosts):
        if host in hosts[:index]:
            raise ValueError(f"{field}.{index}: {host} repeated ({field} must not repeat)")
    return hosts


def check_nameserver_count(nameservers: list[str], registrar: Registrar | None) -> None:
    """No more nameservers than ``registrar``'s registry takes (:data:`REGISTRAR_MAX_NAMESERVERS`)."""
    most = REGISTRAR_MAX_NAMESERVERS[registrar] if registrar is not None else MAX_NAMESERVERS
    if len(nameservers) > most:
        who = f"{registrar.value} takes" if registrar is not None else "registries take"
        raise ValueError(
            f"nameservers: {len(nameservers)} given, more than the registry takes ({who} {most})"
        )


def in_zone(host: str, domain: str) -> bool:
    """``host`` lies inside ``domain``'s zone (``ns1.zona.ro`` for ``zona.ro``): it needs glue."""
    return host == domain or host.endswith("." + domain)


def _glue_address(host: str, raw: str, field: str = "glue") -> str:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ValueError(f"{field}.{host}: {raw[:60]!r} is not an IPv4 or IPv6 address") from None
    if not address.is_global:
        raise ValueError(f"{field}.{host}: {address} is not a public address")
    return address.compressed


class _NameserverSet(BaseModel):
    """Nameserver host names plus glue (addresses) for those inside the domain's own zone."""

    nameservers: list[str] = Field(default_factory=list, max_length=MAX_NAMESERVERS)
    glue: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Addresses of each in-zone nameserver (ns1.example.ro for example.ro): required for them",
    )

    @field_validator("nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        return nameserver_hosts(value)

    @field_validator("glue")
    @classmethod
    def _glue(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        glue: dict[str, list[str]] = {}
        for raw_host, addresses in value.items():
            host = parse_hostname(raw_host)
            if not addresses or len(addresses) > MAX_GLUE_ADDRESSES:
                raise ValueError(f"glue.{host}: give 1 to {MAX_GLUE_ADDRESSES} addresses")
            unique = sorted({_glue_address(host, a) for a in addresses})
            glue[host] = unique
        return dict(sorted(glue.items()))

    def _check_glue(self, domain: str, registrar: Registrar | None) -> None:
        check_nameserver_count(self.nameservers, registrar)
        for index, host in enumerate(self.nameservers):
            if in_zone(host, domain) and host not in self.glue:
                raise ValueError(
                    f"nameservers.{index}: {host} is inside {domain} and needs glue: "
                    f"give its addresses in glue[{host!r}]"
                )
        for host in self.glue:
            if host not in self.nameservers:
                raise ValueError(f"glue.{host}: not one of the nameservers")
            if not in_zone(host, domain):
                raise ValueError(f"glue.{host}: only a nameserver inside {domain} takes glue")
