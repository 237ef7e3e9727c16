"""The job contract: what producers publish (register, renew, lookup, nameservers, sync, and the day-2
kinds of :mod:`shared.jobs_day2`: transfer, lock, contacts, glue, owner_change) and what they get back.

Jobs are validated here, before anything reaches a broker or an upstream. ``regq schema`` prints the JSON
Schema of :data:`Job` so producers in any language can validate too. The bases live in
:mod:`shared.jobs_base`, kinds and statuses in :mod:`shared.job_status` (both re-exported here).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from shared.contact import Contact
from shared.errors import FieldProblem, JobValidationError
from shared.job_status import FINAL_STATUSES, KINDS, JobKind, JobStatus
from shared.jobs_base import (
    MAX_CALLBACK_URL_LENGTH,
    MAX_GLUE_ADDRESSES,
    MAX_KEY_LENGTH,
    MAX_NAMESERVERS,
    _JobBase,
    _NameserverSet,
    _RegistrarJob,
    check_callback_url,
    in_zone,
)
from shared.jobs_day2 import (
    SCRUBBED,
    ContactsJob,
    Day2Job,
    GlueJob,
    LockJob,
    OwnerChangeJob,
    TransferJob,
)
from shared.names import Registrar
from shared.timestamps import Timestamp
from shared.tlds import CONTEXT_KEY, TldCatalogue

__all__ = [
    "FINAL_STATUSES",
    "KINDS",
    "MAX_CALLBACK_URL_LENGTH",
    "MAX_GLUE_ADDRESSES",
    "MAX_KEY_LENGTH",
    "MAX_NAMESERVERS",
    "AnyJob",
    "Job",
    "JobKind",
    "JobOutcome",
    "JobStatus",
    "LookupJob",
    "NameserversJob",
    "RegisterJob",
    "RenewJob",
    "SCRUBBED",
    "ContactsJob",
    "Day2Job",
    "GlueJob",
    "LockJob",
    "OwnerChangeJob",
    "TransferJob",
    "SyncJob",
    "check_callback_url",
    "derive_key",
    "in_zone",
    "job_schema",
    "parse_job",
]

_NAMED = re.compile(r"^([a-z_][a-z0-9_.-]*): (.+)$", re.S)


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


#: A renew of a domain the inventory does not hold: what the caller can send (the CLI's --current-expiry).
RENEW_NEEDS_EXPIRY = (
    "required: the inventory holds no expiry for {}: give current_expiry (YYYY-MM-DD, the expiry "
    "the renewal starts from) or an idempotency_key"
)


class LookupJob(_JobBase):
    """Look up a domain's registration data (registrar, dates, statuses, nameservers and their addresses,
    who holds those addresses); with ``availability``, ask its registrar whether it can be registered."""

    kind: Literal["lookup"] = "lookup"
    availability: bool = Field(
        False, description="Ask the domain's registrar whether it is available (and its price) instead"
    )

    def derive_key(self, day: date | None = None) -> str:
        """``lookup:<domain>:<parameters' hash>:<UTC date>``: the same lookup sent again the same day (a
        retried POST, a resent batch) is the same job, not a second fetch; tomorrow's is a new one.
        A producer wanting a fresh lookup sooner gives its own idempotency_key."""
        today = (day or datetime.now(UTC).date()).isoformat()
        return f"lookup:{self.domain}:{self.params_hash()[:12]}:{today}"


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


Job = Annotated[
    RegisterJob
    | RenewJob
    | LookupJob
    | NameserversJob
    | SyncJob
    | TransferJob
    | LockJob
    | ContactsJob
    | GlueJob
    | OwnerChangeJob,
    Field(discriminator="kind"),
]
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


AnyJob = RegisterJob | RenewJob | LookupJob | NameserversJob | SyncJob | Day2Job


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
    if isinstance(
        job, NameserversJob | SyncJob | TransferJob | LockJob | ContactsJob | GlueJob | OwnerChangeJob
    ):
        return job.derive_key()
    if isinstance(job, RegisterJob):
        if job.dry_run:
            return f"dry-run:register:{job.domain}:{uuid.uuid4().hex}"
        return f"register:{job.domain}"
    if isinstance(job, RenewJob):
        expiry = job.current_expiry or current_expiry
        if expiry is None:
            raise JobValidationError([FieldProblem("current_expiry", RENEW_NEEDS_EXPIRY.format(job.domain))])
        return f"renew:{job.domain}:{expiry.isoformat()}"
    return job.derive_key()


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
    created_at: Timestamp  # RFC 3339 UTC, milliseconds, "Z" (shared/timestamps.py)
    updated_at: Timestamp
    duplicate: bool = Field(False, description="True when this submission matched an existing job")
