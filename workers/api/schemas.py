"""The API's answer bodies as pydantic models: what ``/openapi.json`` declares for every 2xx, and the problem
types that carry extension members.

Documentation only: the handlers build their JSON themselves (``JSONResponse``), so these models never
re-validate or reshape an answer at run time (``response_model=`` is not applied to a returned
``Response``). What keeps them true is the tests: tests/test_openapi_contract.py validates each
operation's real answers against the document and drives a client generated from it, and
tests/test_api_schema.py checks every generated request's answer against the schema of its status.

Reused where they are the real answer: :class:`shared.jobs.JobOutcome` (a job's state),
:class:`workers.api.problems.Problem` (every error, ``application/problem+json``). The problem
subclasses below only name the extension members (RFC 9457 section 3.2) :mod:`workers.api.problems`
documents for one operation; each is optional, since the same status may also come as a plain problem
(a 503 of a lost store on ``GET /v1/lookup`` has no ``partial``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.jobs import JobOutcome
from workers.api.problems import FieldError, Problem


class JobPage(BaseModel):
    """``GET /v1/jobs``: one page, oldest first."""

    jobs: list[JobOutcome]
    next_cursor: str | None = Field(description="pass back as ``cursor`` for the next page; null: no more")


class BatchAccepted(JobOutcome):
    """A batch line that became a job (new, or the same job again: ``duplicate``)."""

    line: int = Field(description="the line (NDJSON) or the 1-based position (JSON array) in the request")
    ok: Literal[True]


class BatchRefused(BaseModel):
    """A batch line that was refused: why, per field."""

    line: int = Field(description="the line (NDJSON) or the 1-based position (JSON array) in the request")
    ok: Literal[False]
    errors: list[FieldError]
    key: str | None = Field(None, description="an idempotency key already in use: its key")


BatchResult = BatchAccepted | BatchRefused


class BatchAnswer(BaseModel):
    """``POST /v1/jobs:batch`` with at least one accepted line: one result per line, in order."""

    accepted: int
    refused: int
    results: list[BatchResult]


class BatchRefusedProblem(Problem):
    """422 of ``POST /v1/jobs:batch``: every line refused (``urn:regq:problem:batch-refused``, with the
    members of a 200 answer) or the body itself is not a batch (``urn:regq:problem:validation``)."""

    accepted: int | None = None
    refused: int | None = None
    results: list[BatchResult] | None = None


class DomainAnswer(BaseModel):
    """``GET /v1/domains/{domain}``: the inventory's record of a held domain."""

    domain: str = Field(description="the A-label, lower case")
    registrar: str
    expires_at: date | None = Field(description="the expiry at the registrar; null: not known yet")
    days_left: int | None = Field(description="days until expiry (negative once past); null: not known")
    auto_renew: bool
    status: str = Field(description="active, expired, pending_delete or missing (no longer in our account)")
    updated_at: datetime | None


class Registration(BaseModel):
    """One registry's (or registrar's) view of a domain, from RDAP or WHOIS."""

    source: Literal["rdap", "whois"]
    server: str = Field(description="the RDAP base URL or WHOIS host that answered")
    registrar: str | None
    created: str | None = Field(description="YYYY-MM-DD when the source gives a day, else an instant")
    expires: str | None
    updated: str | None
    statuses: list[str]
    nameservers: list[str]
    registrant: str | None


class NameserverAddresses(BaseModel):
    host: str
    ips: list[str]


class LookupAnswer(BaseModel):
    """``GET /v1/lookup/{domain}``: public registration data (the shape of a lookup job's ``result``)."""

    domain: str
    apex: str
    registered: bool | None = Field(description="null: no source could tell")
    registration: Registration | None
    nameservers: list[NameserverAddresses]
    ip_registrants: dict[str, str | None]
    partial: bool = Field(description="true: some steps must wait (see reason; Retry-After is set)")
    reason: str | None
    retry_after: float | None


class LookupUnavailable(Problem):
    """503 of ``GET /v1/lookup/{domain}``: nothing known yet, every step must wait (``Retry-After``)."""

    domain: str | None = None
    partial: bool | None = None
    reason: str | None = None
    retry_after: float | None = None


class AuthCodeAnswer(BaseModel):
    """``POST /v1/domains/{domain}/auth-code``: the transfer code, in this answer only (no-store)."""

    domain: str
    auth_code: str
    expires_at: str | None = Field(description="when the code lapses (a day, or an instant); null: not said")


class HealthChecks(BaseModel):
    store: bool
    redis: bool
    broker: bool


class HealthAnswer(BaseModel):
    """``GET /v1/health``: which of store, Redis and broker answer (200 when all do)."""

    ok: bool
    checks: HealthChecks


class HealthProblem(Problem):
    """503 of ``GET /v1/health``: one of them does not answer."""

    ok: bool | None = None
    checks: HealthChecks | None = None


class HookReceipt(BaseModel):
    """``POST /v1/hooks/{registrar}`` handled: ``accepted``, ``ignored`` or ``replayed`` (no effect)."""

    outcome: str
    detail: str
    action: str | None
    event_id: str | None
    receipt: int | None


class HookRefused(Problem):
    """A refused webhook (``urn:regq:problem:hook-refused``): the receipt's members beside ``detail``."""

    outcome: str | None = None
    action: str | None = None
    event_id: str | None = None
    receipt: int | None = None
