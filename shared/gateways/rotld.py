"""ROTLD REST API 2.0 gateway (.ro).

One endpoint (REGQ_ROTLD_API_URL), every call an HTTPS POST, form-urlencoded
``command=<name>&lang=en&format=json&...``, HTTP Digest auth (REGQ_ROTLD_USER / REGQ_ROTLD_PASSWORD).
Answer: ``{"error", "result_code", "result_message", "data"}``; ``00200`` is success.

Digest costs a 401 challenge round trip the first time (and when the nonce goes stale). The challenge is
kept for the whole process (:mod:`shared.http.digest`), even when the resend that answers it is
throttled, so later requests carry credentials straight away. The resend goes through the request's
policy like any request (its own limiter token: the registry counts it). Only the request carrying
credentials is "the send" for the job's phase.

* check: ``check-availability`` (``data.status`` Available / Not Available; no price).
* register: ``check-availability`` first ("Not Available" -> DomainUnavailable: no public source gives
  the code a register of a taken name answers), the registrant's contact (once per distinct registrant,
  see below), ``domain-register`` with a generated ``domain_password`` (16 characters, upper + lower +
  digit, from :mod:`secrets`; never logged, never returned), then ``domain-info`` for the expiry and
  nameservers. Nameservers are a separate step (the documented domain-register takes none): the
  execution layer calls :meth:`set_nameservers` after the create, so its failure never fails the job.
* renew: ``domain-renew``, then ``domain-info`` until the expected new expiry shows (AwaitingRegistry
  when it does not within the read-back window). info: ``domain-info``.
* find: ``domain-info``; the not-found codes of :data:`~shared.gateways.rotld_codes.NOT_FOUND_ON_INFO`
  mean "not in our account" (None); any other registry error is NeedsOperator (never a re-send), 10002
  (:data:`~shared.gateways.rotld_codes.AMBIGUOUS_CODE`) included, from every command on a domain of ours.
* set_nameservers: ``nameserver-create`` for each in-zone host with its glue addresses, then
  ``domain-reset-ns``; an empty list (ROTLD would delete every nameserver) is refused before any request.
* dry_run_register: ROTLD has no dry-run: ``check-availability`` only (the contact rules were already
  checked when the job was validated).

Contacts: ``owner.fingerprint()`` is claimed in the ContactDirectory. A stored ``cid`` is reused; the
claimant runs ``contact-create`` and saves the ``cid`` (or releases the claim on failure); while another
job holds the claim, :class:`~shared.errors.ContactPending` is raised: a ``Throttled`` (wait
``retry_after`` s; nothing was sent, so not an attempt and not a breaker failure).
Without a directory every register creates a contact.

Answers -> errors: HTTP 401 AuthError; other non-200 TransientError (``retry_after`` if given; 429 is
RateLimited); non-JSON or no envelope ProtocolError; result codes (a string or a number alike) per
:data:`~shared.gateways.rotld_codes.RESULT_CODES`; an unknown code RegistryRefused (final, not a breaker
failure). ``expiration_date`` is read as an ISO date or date-time; anything else is a ProtocolError.
TLS is always verified; ``REGQ_ROTLD_CA_BUNDLE`` names a PEM file for a private CA. The command path and
the envelope read: :mod:`shared.gateways.rotld_commands` (shared with the day-2 and trade mixins).
"""

from __future__ import annotations

import random
import secrets
import string
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from shared import defaults
from shared.audit import AuditSink
from shared.contact import ROTLD_PERSON_TYPE, Contact, ContactType
from shared.errors import (
    AwaitingRegistry,
    ConfigError,
    ContactPending,
    DomainUnavailable,
    NeedsOperator,
    NotFound,
    ProtocolError,
    RegistryRefused,
    ValidationRejected,
)
from shared.gateways.base import (
    Availability,
    ContactDirectory,
    DomainInfo,
    DryRunResult,
    Gateway,
    RegisteredDomain,
    RenewedDomain,
    ascii_domain,
    parse_day,
    read_back,
)
from shared.gateways.dates import TOLERANCE
from shared.gateways.rotld_commands import PROVIDER
from shared.gateways.rotld_day2 import RotldDay2, nameserver_hosts
from shared.http import OutboundClient, policy_for, register_secret
from shared.http.digest import DigestState, MeteredDigestAuth, state_for
from shared.http.redact import get_logger, scrub_upstream_text
from shared.jobs import RegisterJob, RenewJob
from shared.settings import Settings
from shared.upstream.policy import CallPolicy

PASSWORD_LENGTH = 16
CLAIM_SECONDS = 60.0
CONTACT_PENDING_RETRY_SECONDS = 5.0
POLL_FIRST, POLL_MAX = 0.5, 2.0
CONTACT_NOT_FOUND = "50006"  # [ref] rotld_codes: contact not found
log = get_logger("regq.gateways.rotld")


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
    """``contact-create`` parameters. ``state_province`` is text: the state as given, a code's subdivision
    name (``RO-B`` -> ``București``), else the city (Bucharest has no county)."""
    form = {
        "name": contact.display_name,
        "address1": contact.streetaddr,
        "city": contact.city,
        "state_province": contact.state_text or contact.city,
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


def registry_day(data: dict[str, Any], field: str) -> Any:
    """A date ROTLD sends as an ISO date or date-time; absent -> None; anything else -> ProtocolError."""
    raw = data.get(field)
    if raw is None or raw == "":
        return None
    day = parse_day(raw)
    if day is None:
        shown = scrub_upstream_text(str(raw), 40)
        raise ProtocolError(f"domain-info {field} {shown!r} is not an ISO date", provider=PROVIDER)
    return day


def _info(domain: str, data: dict[str, Any]) -> tuple[DomainInfo, Any]:
    statuses = data.get("statuses", [])
    nameservers = data.get("nameservers", [])
    if isinstance(nameservers, str):
        nameservers = [n.strip() for n in nameservers.split(",") if n.strip()]
    info = DomainInfo(
        domain=domain,
        expires_at=registry_day(data, "expiration_date"),
        statuses=[str(s) for s in statuses] if isinstance(statuses, list) else [str(statuses)],
        nameservers=[str(n).lower().rstrip(".") for n in nameservers]
        if isinstance(nameservers, list)
        else [],
    )
    return info, registry_day(data, "registration_date")


class RotldGateway(RotldDay2, Gateway):  # day-2 operations: shared/gateways/rotld_day2.py
    name = PROVIDER

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink,
        contacts: ContactDirectory | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        claim_seconds: float = CLAIM_SECONDS,
        pending_retry_after: float = CONTACT_PENDING_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        readback_seconds: float = defaults.REGISTRY_READBACK_SECONDS,
        digest_state: DigestState | None = None,
    ) -> None:
        if not settings.rotld_user:
            raise ConfigError("REGQ_ROTLD_USER", "required for the rotld gateway")
        if settings.rotld_password is None or not settings.rotld_password.get_secret_value():
            raise ConfigError("REGQ_ROTLD_PASSWORD", "required for the rotld gateway")
        password = settings.rotld_password.get_secret_value()
        register_secret(password)
        self.url = settings.rotld_api_url
        self._auth = MeteredDigestAuth(
            settings.rotld_user, password, state=digest_state or state_for(settings.rotld_user, self.url)
        )
        self.contacts = contacts
        self.claim_seconds = claim_seconds
        self.pending_retry_after = pending_retry_after
        self.sleep, self.clock = sleep, clock
        self.readback_seconds = readback_seconds
        outbound = policy_for(self.url, settings, ca_bundle=settings.rotld_ca_bundle)
        self.client = OutboundClient(
            PROVIDER, outbound, audit, tries=settings.http_tries, sleep=sleep, rng=rng
        )

    def __repr__(self) -> str:
        return f"RotldGateway({self.url!r})"

    def close(self) -> None:
        self.client.close()

    def _read(self, domain: str, policy: CallPolicy) -> tuple[DomainInfo, Any]:
        return _info(domain, self._command("domain-info", {"domain": domain}, policy, idempotent=True))

    def _create_contact(self, owner: Contact, policy: CallPolicy) -> str:
        data = self._command("contact-create", contact_form(owner), policy, idempotent=False)
        cid = data.get("cid")
        if not isinstance(cid, str) or not cid.strip():
            raise ProtocolError("contact-create answered without a cid", provider=PROVIDER)
        return cid.strip()

    def registrant_id(self, owner: Contact, policy: CallPolicy) -> str:
        """The registry contact id for ``owner``: reused when known, created once otherwise."""
        if self.contacts is None:
            return self._create_contact(owner, policy)
        fingerprint = owner.fingerprint()
        claimant = policy.job_key or f"rotld-{uuid.uuid4().hex}"
        claim = self.contacts.claim(PROVIDER, fingerprint, claimant, seconds=self.claim_seconds)
        if claim.contact_id:
            return claim.contact_id
        if not claim.claimed:
            raise ContactPending(PROVIDER, self.pending_retry_after)
        try:
            cid = self._create_contact(owner, policy)
        except Exception:
            self.contacts.release(PROVIDER, fingerprint, claimant)
            raise
        self.contacts.save(PROVIDER, fingerprint, cid)
        log.info("rotld contact %s created for a new registrant", cid)
        return cid

    # -- operations
    def check(self, domain: str, policy: CallPolicy) -> Availability:
        fqdn = ascii_domain(domain, PROVIDER)
        data = self._command("check-availability", {"domain": fqdn}, policy, idempotent=True)
        status = data.get("status")
        if not isinstance(status, str) or not status.strip():
            raise ProtocolError("check-availability answered without a status", provider=PROVIDER)
        return Availability(fqdn, status.strip().lower() == "available", status.strip())

    def register(self, job: RegisterJob, policy: CallPolicy) -> RegisteredDomain:
        if job.dry_run:
            raise ValueError("a dry-run job goes to dry_run_register(), never register()")
        availability = self.check(job.domain, policy)
        if not availability.available:
            raise DomainUnavailable(f"{job.domain} is {availability.status}", provider=PROVIDER)
        cid = self.registrant_id(job.owner, policy)
        try:
            self._domain_register(job, cid, policy)
        except NotFound as exc:
            if exc.upstream_code != CONTACT_NOT_FOUND or self.contacts is None:
                raise
            # The registry no longer knows the contact id we kept (deleted, or another registry
            # environment): a definite "not created". Forget it, create the contact again, register once more.
            log.warning("rotld contact %s is unknown to the registry: creating it again", cid)
            self.contacts.forget(PROVIDER, job.owner.fingerprint(), cid)
            self._domain_register(job, self.registrant_id(job.owner, policy), policy)
        info, created = self._read(job.domain, policy)
        if info.expires_at is None:
            raise ProtocolError("domain-info answered without an expiration_date", provider=PROVIDER)
        return RegisteredDomain(job.domain, info.expires_at, created, list(info.nameservers))

    def _domain_register(self, job: RegisterJob, cid: str, policy: CallPolicy) -> None:
        password = new_domain_password()
        register_secret(password)
        params = {
            "domain": job.domain,
            "c_registrant": cid,
            "domain_period": str(job.years),
            "domain_password": password,
            "reservation": "0",
        }
        self._command("domain-register", params, policy, idempotent=False, effect=True)

    def renew(self, job: RenewJob, policy: CallPolicy, *, expected: date | None = None) -> RenewedDomain:
        params = {"domain": job.domain, "domain_period": str(job.years)}
        self._command("domain-renew", params, policy, idempotent=False, effect=True)

        def read() -> DomainInfo:
            info, _ = self._read(job.domain, policy)
            if info.expires_at is None:
                raise ProtocolError("domain-info answered without an expiration_date", provider=PROVIDER)
            return info

        def renewed(info: DomainInfo) -> bool:
            return expected is None or (
                info.expires_at is not None and info.expires_at >= expected - TOLERANCE
            )

        info, confirmed = read_back(
            read,
            renewed,
            self.readback_seconds,
            sleep=self.sleep,
            clock=self.clock,
            first=POLL_FIRST,
            largest=POLL_MAX,
        )
        assert info.expires_at is not None  # read() refuses an answer without one
        if not confirmed:
            raise AwaitingRegistry(
                PROVIDER,
                float(defaults.REGISTRY_LAG_RECHECK_SECONDS),
                f"renewal accepted; domain-info still shows {info.expires_at}, not {expected}",
            )
        return RenewedDomain(job.domain, info.expires_at)

    def info(self, domain: str, policy: CallPolicy) -> DomainInfo:
        return self._read(ascii_domain(domain, PROVIDER), policy)[0]

    def find(self, domain: str, policy: CallPolicy, *, settle: bool = False) -> DomainInfo | None:
        """The domain if it is in our account; None for the documented not-found answers; NeedsOperator
        for any other registry error (the job then waits instead of re-sending a create)."""
        try:
            return self.info(domain, policy)
        except NotFound:
            return None
        except (ValidationRejected, RegistryRefused) as exc:
            code = exc.upstream_code or ""
            raise NeedsOperator(
                PROVIDER,
                float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
                f"domain-info for {domain} answered {code or 'an error'} ({exc.message}); "
                "cannot tell whether our create happened",
            ) from None

    def dry_run_register(self, job: RegisterJob, policy: CallPolicy) -> DryRunResult:
        problems = [f"owner.{field}" for field, _ in job.owner.romanian_problems()]
        availability = self.check(job.domain, policy)
        if not availability.available:
            problems.append("domain")
        messages = [] if availability.available else [f"domain: {availability.status}"]
        return DryRunResult(job.domain, not problems, problems, messages)

    def set_nameservers(
        self,
        domain: str,
        hosts: list[str],
        policy: CallPolicy,
        *,
        glue: Mapping[str, list[str]] | None = None,
    ) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        nameserver_hosts(hosts)  # an empty list would delete every nameserver: refused, nothing sent
        for host in hosts:
            addresses = (glue or {}).get(host)
            if addresses:  # an in-zone host: its glue record first (ROTLD answers 10502 without one)
                form = {"nameserver": host, "ips": ",".join(addresses)}
                self._command("nameserver-create", form, policy, idempotent=True)
        params = {"domain": fqdn, "nameservers": ",".join(hosts)}
        self._command("domain-reset-ns", params, policy, idempotent=True)
