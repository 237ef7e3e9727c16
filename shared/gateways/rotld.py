"""ROTLD REST API 2.0 gateway (.ro).

One endpoint (REGQ_ROTLD_API_URL), every call an HTTPS POST, form-urlencoded
``command=<name>&lang=en&format=json&...``, HTTP Digest auth (REGQ_ROTLD_USER / REGQ_ROTLD_PASSWORD).
Answer: ``{"error", "result_code", "result_message", "data"}``; ``00200`` is success.

Digest costs a 401 challenge round trip the first time (and when the nonce goes stale). The gateway keeps
ONE ``requests.Session`` and ONE ``HTTPDigestAuth`` for its life, so later requests carry credentials
straight away. A challenge and its answered retry are one logical request: one limiter token
(``CallGuard.before_request``) and one audit row (status of the final answer). The sandbox's stats do
count the challenge as a request of its own.

* check: ``check-availability`` (``data.status`` Available / Not Available; no price).
* register: the registrant's contact (once per distinct registrant, see below), ``domain-register`` with
  a generated ``domain_password`` (16 characters, upper + lower + digit, from :mod:`secrets`; never
  logged, never returned), ``domain-reset-ns`` when the job has nameservers (the documented
  domain-register takes none), then ``domain-info`` for the expiry. An error after ``domain-register``
  means the domain IS registered: the task layer reconciles with :meth:`info` (and may call
  :meth:`set_nameservers`).
* renew: ``domain-renew`` then ``domain-info``. info: ``domain-info``. set_nameservers: ``domain-reset-ns``.
* dry_run_register: ROTLD has no dry-run: ``check-availability`` only (the contact rules were already
  checked when the job was validated).

Contacts: ``owner.fingerprint()`` is claimed in the ContactDirectory. A stored ``cid`` is reused; the
claimant runs ``contact-create`` and saves the ``cid`` (or releases the claim on failure); while another
job holds the claim, :class:`~shared.errors.ContactPending` is raised: a ``Throttled`` (wait
``retry_after`` s; nothing was sent, so not an attempt and not a breaker failure).
Without a directory every register creates a contact.

Answers -> errors: HTTP 401 AuthError; other non-200 TransientError (``retry_after`` if given; 429 is
RateLimited); non-JSON or no envelope ProtocolError; result codes per :data:`RESULT_CODES`; an unknown
code ProtocolError.
"""

from __future__ import annotations

import random
import secrets
import string
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared.audit import AuditSink
from shared.contact import ROTLD_PERSON_TYPE, Contact, ContactType
from shared.errors import (
    AuthError,
    ConfigError,
    ContactPending,
    DomainUnavailable,
    NotFound,
    ProtocolError,
    TransientError,
    UpstreamError,
    ValidationRejected,
)
from shared.gateways.base import (
    Availability,
    CallContext,
    ContactDirectory,
    DomainInfo,
    DryRunResult,
    Gateway,
    RegisteredDomain,
    RenewedDomain,
    ascii_domain,
    parse_day,
)
from shared.http import CallGuard, HttpResponse, OutboundClient, policy_for, register_secret
from shared.http.digest import MeteredDigestAuth
from shared.http.redact import get_logger, scrub_upstream_text
from shared.jobs import RegisterJob, RenewJob
from shared.settings import Settings

PROVIDER = "rotld"
SUCCESS = "00200"
PASSWORD_LENGTH = 16
CLAIM_SECONDS = 60.0
CONTACT_PENDING_RETRY_SECONDS = 5.0
log = get_logger("regq.gateways.rotld")

#: result code -> (error class, rejected field or None)
RESULT_CODES: dict[str, tuple[type[UpstreamError], str | None]] = {
    "10001": (ValidationRejected, None),  # missing parameter: data.parameter names it
    "10003": (ValidationRejected, None),  # invalid parameter value
    "10501": (ValidationRejected, "nameservers"),
    "10502": (ValidationRejected, "nameservers"),  # in-zone nameserver without glue
    "50002": (ValidationRejected, "domain"),
    "50014": (ValidationRejected, "domain_password"),
    "50006": (NotFound, None),  # contact not found
    "50102": (ValidationRejected, "name"),
    "50106": (ValidationRejected, "person_type"),
    "50122": (ValidationRejected, "address"),
    "50125": (ValidationRejected, "email"),
    "50129": (ValidationRejected, "phone"),
    "50137": (ValidationRejected, "cnp_fiscal_code"),
    "50300": (DomainUnavailable, None),  # already registered
    "50301": (NotFound, None),  # not in our account
}


def new_domain_password(length: int = PASSWORD_LENGTH) -> str:
    """A domain password ROTLD accepts (6-40 characters with an upper, a lower and a digit)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def contact_form(contact: Contact) -> dict[str, str]:
    """``contact-create`` parameters. ``state_province`` falls back to the city (Bucharest has no county)."""
    form = {
        "name": contact.display_name,
        "address1": contact.streetaddr,
        "city": contact.city,
        "state_province": contact.state or contact.city,
        "country_code": contact.country,
        "email": contact.email,
        "phone": contact.phone,
        "person_type": ROTLD_PERSON_TYPE[contact.type],
    }
    code = contact.cnp if contact.type is ContactType.PERSON else contact.cui
    optional = {
        "postal_code": contact.zip,
        "cnp_fiscal_code": code,
        "registration_number": contact.registration_number,
    }
    form.update({k: v for k, v in optional.items() if v})
    return form


def envelope_data(response: HttpResponse) -> dict[str, Any]:
    """The ``data`` of a successful envelope, else the typed error."""
    status = response.status
    if status == 401:
        raise AuthError("credentials refused (HTTP 401)", provider=PROVIDER, status=status)
    if status != 200:
        raise TransientError(
            f"service unavailable (HTTP {status})",
            provider=PROVIDER,
            status=status,
            retry_after=response.retry_after,
        )
    body = response.json()
    code = body.get("result_code") if isinstance(body, dict) else None
    if not isinstance(code, str | int) or "error" not in body:
        raise ProtocolError("answer is not a ROTLD envelope", provider=PROVIDER, status=status)
    code = str(code).strip()
    data = body.get("data")
    if code == SUCCESS and str(body.get("error")) in ("0", "False"):
        return data if isinstance(data, dict) else {}
    message = scrub_upstream_text(body.get("result_message")) or "no message"
    known = RESULT_CODES.get(code)
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "upstream_code": code}
    if known is None:
        raise ProtocolError(f"unknown result code {code}: {message}", **kw)
    cls, field = known
    if cls is ValidationRejected:
        named = data.get("parameter") if isinstance(data, dict) else None
        fields = [f for f in (field, scrub_upstream_text(named, 60) if named else None) if f]
        raise ValidationRejected(f"rejected ({code}): {message}", fields=fields, **kw)
    raise cls(f"{code}: {message}", **kw)


def _info(domain: str, data: dict[str, Any]) -> tuple[DomainInfo, Any]:
    statuses = data.get("statuses", [])
    nameservers = data.get("nameservers", [])
    if isinstance(nameservers, str):
        nameservers = [n.strip() for n in nameservers.split(",") if n.strip()]
    info = DomainInfo(
        domain=domain,
        expires_at=parse_day(data.get("expiration_date")),
        statuses=[str(s) for s in statuses] if isinstance(statuses, list) else [str(statuses)],
        nameservers=[str(n) for n in nameservers] if isinstance(nameservers, list) else [],
    )
    return info, parse_day(data.get("registration_date"))


class RotldGateway(Gateway):
    name = PROVIDER

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink,
        guard: CallGuard | None = None,
        contacts: ContactDirectory | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        claim_seconds: float = CLAIM_SECONDS,
        pending_retry_after: float = CONTACT_PENDING_RETRY_SECONDS,
    ) -> None:
        if not settings.rotld_user:
            raise ConfigError("REGQ_ROTLD_USER", "required for the rotld gateway")
        if settings.rotld_password is None or not settings.rotld_password.get_secret_value():
            raise ConfigError("REGQ_ROTLD_PASSWORD", "required for the rotld gateway")
        password = settings.rotld_password.get_secret_value()
        register_secret(password)
        self._auth = MeteredDigestAuth(
            settings.rotld_user,
            password,
            lambda: guard.before_request(PROVIDER, "digest-challenge") if guard else None,
        )
        self.url = settings.rotld_api_url
        self.contacts = contacts
        self.claim_seconds = claim_seconds
        self.pending_retry_after = pending_retry_after
        policy = policy_for(self.url, settings)
        self.client = OutboundClient(
            PROVIDER, policy, audit, guard, tries=settings.http_tries, sleep=sleep, rng=rng
        )

    def __repr__(self) -> str:
        return f"RotldGateway({self.url!r})"

    def close(self) -> None:
        self.client.close()

    def _command(
        self, command: str, params: dict[str, str], ctx: CallContext, *, idempotent: bool
    ) -> dict[str, Any]:
        form = {"command": command, "lang": "en", "format": "json", **params}
        return self.client.call(
            "POST",
            self.url,
            operation=command,
            interpret=envelope_data,
            job_key=ctx.job_key,
            attempt=ctx.attempt,
            idempotent=idempotent,
            before_send=ctx.unsafe_send_hook(command),
            data=form,
            auth=self._auth,
            headers={"Accept": "application/json"},
        )

    def _read(self, domain: str, ctx: CallContext) -> tuple[DomainInfo, Any]:
        return _info(domain, self._command("domain-info", {"domain": domain}, ctx, idempotent=True))

    def _create_contact(self, owner: Contact, ctx: CallContext) -> str:
        data = self._command("contact-create", contact_form(owner), ctx, idempotent=False)
        cid = data.get("cid")
        if not isinstance(cid, str) or not cid.strip():
            raise ProtocolError("contact-create answered without a cid", provider=PROVIDER)
        return cid.strip()

    def registrant_id(self, owner: Contact, ctx: CallContext) -> str:
        """The registry contact id for ``owner``: reused when known, created once otherwise."""
        if self.contacts is None:
            return self._create_contact(owner, ctx)
        fingerprint = owner.fingerprint()
        claimant = ctx.job_key or f"rotld-{uuid.uuid4().hex}"
        claim = self.contacts.claim(PROVIDER, fingerprint, claimant, seconds=self.claim_seconds)
        if claim.contact_id:
            return claim.contact_id
        if not claim.claimed:
            raise ContactPending(PROVIDER, self.pending_retry_after)
        try:
            cid = self._create_contact(owner, ctx)
        except Exception:
            self.contacts.release(PROVIDER, fingerprint, claimant)
            raise
        self.contacts.save(PROVIDER, fingerprint, cid)
        log.info("rotld contact %s created for a new registrant", cid)
        return cid

    # -- operations
    def check(self, domain: str, ctx: CallContext) -> Availability:
        fqdn = ascii_domain(domain, PROVIDER)
        data = self._command("check-availability", {"domain": fqdn}, ctx, idempotent=True)
        status = data.get("status")
        if not isinstance(status, str) or not status.strip():
            raise ProtocolError("check-availability answered without a status", provider=PROVIDER)
        return Availability(fqdn, status.strip().lower() == "available", status.strip())

    def register(self, job: RegisterJob, ctx: CallContext) -> RegisteredDomain:
        if job.dry_run:
            raise ValueError("a dry-run job goes to dry_run_register(), never register()")
        cid = self.registrant_id(job.owner, ctx)
        password = new_domain_password()
        register_secret(password)
        params = {
            "domain": job.domain,
            "c_registrant": cid,
            "domain_period": str(job.years),
            "domain_password": password,
            "reservation": "0",
        }
        self._command("domain-register", params, ctx, idempotent=False)
        if job.nameservers:
            self.set_nameservers(job.domain, job.nameservers, ctx)
        info, created = self._read(job.domain, ctx)
        if info.expires_at is None:
            raise ProtocolError("domain-info answered without an expiration_date", provider=PROVIDER)
        return RegisteredDomain(job.domain, info.expires_at, created)

    def renew(self, job: RenewJob, ctx: CallContext) -> RenewedDomain:
        params = {"domain": job.domain, "domain_period": str(job.years)}
        self._command("domain-renew", params, ctx, idempotent=False)
        info, _ = self._read(job.domain, ctx)
        if info.expires_at is None:
            raise ProtocolError("domain-info answered without an expiration_date", provider=PROVIDER)
        return RenewedDomain(job.domain, info.expires_at)

    def info(self, domain: str, ctx: CallContext) -> DomainInfo:
        return self._read(ascii_domain(domain, PROVIDER), ctx)[0]

    def dry_run_register(self, job: RegisterJob, ctx: CallContext) -> DryRunResult:
        problems = [f"owner.{field}" for field, _ in job.owner.romanian_problems()]
        availability = self.check(job.domain, ctx)
        if not availability.available:
            problems.append("domain")
        messages = [] if availability.available else [f"domain: {availability.status}"]
        return DryRunResult(job.domain, not problems, problems, messages)

    def set_nameservers(self, domain: str, hosts: list[str], ctx: CallContext) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        params = {"domain": fqdn, "nameservers": ",".join(hosts)}
        self._command("domain-reset-ns", params, ctx, idempotent=True)
