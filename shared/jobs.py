"""The job contract: what producers publish (register, renew, lookup) and what they get back.

Jobs are validated here, before anything reaches a broker or an upstream. ``regq schema`` prints the JSON
Schema of :data:`Job` so producers in any language can validate too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared import defaults
from shared.contact import Contact
from shared.errors import FieldProblem, JobValidationError
from shared.names import DomainName, Registrar, parse_domain, parse_hostname
from shared.script_policy import name_problem
from shared.tlds import CONTEXT_KEY, TldCatalogue, catalogue_in, registrar_for

MAX_KEY_LENGTH = 200
_NAMED = re.compile(r"^([a-z_][a-z0-9_.-]*): (.+)$", re.S)
MAX_NAMESERVERS = 13
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


class JobKind(StrEnum):
    REGISTER = "register"
    RENEW = "renew"
    LOOKUP = "lookup"
    NAMESERVERS = "nameservers"
    SYNC = "sync"


KINDS = ", ".join(k.value for k in JobKind)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PARTIAL = "partial"  # a lookup that answered part of its data; it runs again for the rest
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.REJECTED})


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
        if value is not None and not value.isprintable():
            raise ValueError("must contain printable characters only")
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

    def params_hash(self) -> str:
        canonical = json.dumps(self.params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class _RegistrarJob(_JobBase):
    registrar: Registrar | None = Field(None, description="Inferred from the TLD when omitted")
    years: int = Field(1, ge=1, le=10)

    @field_validator("years", mode="before")
    @classmethod
    def _years(cls, value: object) -> object:
        if isinstance(value, bool):  # pydantic would read true as 1 year
            raise ValueError("must be a whole number of years, not true or false")
        return value

    @model_validator(mode="after")
    def _registrable(self, info: ValidationInfo) -> _RegistrarJob:
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


def in_zone(host: str, domain: str) -> bool:
    """``host`` lies inside ``domain``'s zone (``ns1.zona.ro`` for ``zona.ro``): it needs glue."""
    return host == domain or host.endswith("." + domain)


def _glue_address(host: str, raw: str) -> str:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ValueError(f"glue.{host}: {raw[:60]!r} is not an IPv4 or IPv6 address") from None
    if not address.is_global:
        raise ValueError(f"glue.{host}: {address} is not a public address")
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
        hosts = [parse_hostname(v) for v in value]
        if len(set(hosts)) != len(hosts):
            raise ValueError("nameservers must not repeat")
        return hosts

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


class RegisterJob(_NameserverSet, _RegistrarJob):
    """Register ``domain`` for ``years`` with ``owner`` as registrant."""

    kind: Literal["register"] = "register"
    owner: Contact
    dry_run: bool = Field(False, description="Validate at the registrar without acting")

    @model_validator(mode="after")
    def _in_zone(self) -> RegisterJob:
        self._check_glue(self.domain, self.registrar)
        return self

    @model_validator(mode="after")
    def _romanian(self) -> RegisterJob:
        if self.registrar is Registrar.ROTLD:
            problems = self.owner.romanian_problems()
            if problems:
                field, reason = problems[0]
                raise ValueError(f"owner.{field}: {reason}")
        return self


class RenewJob(_RegistrarJob):
    """Renew ``domain`` by ``years``; ``current_expiry`` guards against renewing the same term twice."""

    kind: Literal["renew"] = "renew"
    current_expiry: date | None = Field(None, description="The expiry date the renewal starts from")


class LookupJob(_JobBase):
    """Look up a domain's registration data (registrar, dates, statuses, nameservers and their addresses,
    who holds those addresses); with ``availability``, ask its registrar whether it can be registered."""

    kind: Literal["lookup"] = "lookup"
    availability: bool = Field(
        False, description="Ask the domain's registrar whether it is available (and its price) instead"
    )


class NameserversJob(_NameserverSet, _RegistrarJob):
    """Make ``domain``'s nameservers (and their glue) what is given; a register leaves one behind when its
    nameserver step did not complete. Idempotent: running it twice changes nothing the second time."""

    kind: Literal["nameservers"] = "nameservers"

    @model_validator(mode="after")
    def _in_zone(self) -> NameserversJob:
        if not self.nameservers:
            raise ValueError("nameservers: give at least one")
        self._check_glue(self.domain, self.registrar)
        return self

    def derive_key(self) -> str:
        return f"nameservers:{self.domain}:{self.params_hash()[:12]}"


class SyncJob(_RegistrarJob):
    """Read ``domain`` at its registrar (``info``) and refresh the inventory's expiry and status from it:
    billing systems drift from the registry. Read-only at the registrar; one a day per domain."""

    kind: Literal["sync"] = "sync"

    def derive_key(self, day: date | None = None) -> str:
        """``sync:<domain>:<UTC date>``: a sync asked twice in a day is one job."""
        return f"sync:{self.domain}:{(day or datetime.now(UTC).date()).isoformat()}"


Job = Annotated[RegisterJob | RenewJob | LookupJob | NameserversJob | SyncJob, Field(discriminator="kind")]
_JOB = TypeAdapter(Job)


def job_schema() -> dict[str, Any]:
    """The JSON Schema of a job message."""
    return _JOB.json_schema()


def _problems(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not str(part).startswith(("function-", "tagged-union"))]
        if loc and loc[0] in set(JobKind):  # the union's tag, not a field
            loc = loc[1:]
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(loc)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field, message = "kind", f"must be one of {KINDS}"
        # Cross-field validators name their own field as "field: reason".
        named = _NAMED.match(message)
        if named and (not field or named.group(1).startswith(field + ".")):
            field, message = named.group(1), named.group(2)
        problems.append(FieldProblem(field or "job", message))
    return problems


AnyJob = RegisterJob | RenewJob | LookupJob | NameserversJob | SyncJob


def parse_job(data: Any, *, tlds: TldCatalogue | None = None) -> AnyJob:
    """Validate a job message (a dict or JSON text). Raises JobValidationError naming field and reason.

    ``tlds``: the TLD catalogue to check registrar jobs against; default: the process's (fleet copy)."""
    context = {CONTEXT_KEY: tlds} if tlds is not None else None
    try:
        if isinstance(data, str | bytes):
            return _JOB.validate_json(data, context=context)
        if not isinstance(data, dict):
            raise JobValidationError([FieldProblem("job", "must be a JSON object")])
        if "kind" not in data:
            raise JobValidationError([FieldProblem("kind", f"required: one of {KINDS}")])
        return _JOB.validate_python(data, context=context)
    except ValidationError as exc:
        raise JobValidationError(_problems(exc)) from None


def derive_key(job: AnyJob, current_expiry: date | None = None) -> str:
    """The job's idempotency key: the producer's, else derived from what makes the job unique."""
    if job.idempotency_key:
        return job.idempotency_key
    if isinstance(job, NameserversJob | SyncJob):
        return job.derive_key()
    if isinstance(job, RegisterJob):
        if job.dry_run:
            return f"dry-run:register:{job.domain}:{uuid.uuid4().hex}"
        return f"register:{job.domain}"
    if isinstance(job, RenewJob):
        expiry = job.current_expiry or current_expiry
        if expiry is None:
            raise JobValidationError(
                [FieldProblem("idempotency_key", "required for a renew whose current expiry is unknown")]
            )
        return f"renew:{job.domain}:{expiry.isoformat()}"
    return f"lookup:{job.domain}:{uuid.uuid4().hex}"


class JobOutcome(BaseModel):
    """What a producer gets back for a key: the job's current state and, once final, its result."""

    key: str
    kind: JobKind
    domain: str
    registrar: str | None
    status: JobStatus
    attempts: int
    result: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime
    updated_at: datetime
    duplicate: bool = Field(False, description="True when this submission matched an existing job")
