"""Gandi API v5 gateway (gTLDs and .eu).

Auth: ``Authorization: Bearer <REGQ_GANDI_TOKEN>``. A token written ``Apikey:<key>`` is sent with the
deprecated ``Authorization: Apikey <key>`` scheme instead (for accounts that still use API keys).
JSON bodies; ``sharing_id`` (REGQ_GANDI_SHARING_ID) is added to every request's query when set. Every
request goes through :class:`~shared.gateways.gandi_calls.GandiCalls`, the base this gateway and its
day-2 and owner-change mixins share.

* check: ``GET /domain/check?name=`` -> the product's ``status``; only ``available`` is available;
  ``pending`` and ``error_timeout`` are ``retriable`` (ask again), never "unavailable". Price: the
  1-year ``price_before_taxes`` of the product, in the answer's ``currency``.
* register: ``POST /domain/domains`` (200/201/202; the answer has no expiry), then
  ``GET /domain/domains/{fqdn}`` polled over the read-after-create 404 (0.2 s doubling to 2 s, for at most
  REGQ_GANDI_VISIBILITY_WAIT_SECONDS): still invisible -> AmbiguousError (accepted, not confirmed).
  Nameservers of the job go in the create body. The ``Location`` header is not followed: the canonical
  domain URL is read instead (same resource, and no second host to vet).
* renew: ``POST /domain/domains/{fqdn}/renew`` ``{"duration": N}``, then GET for the new expiry (polled
  until it is past ``job.current_expiry`` when that is known, within the same bound).
* dry_run_register: the create with ``Dry-Run: 1``: ``{"status": "success"}`` or the errors' field names.
* set_nameservers: ``PUT /domain/domains/{fqdn}/nameservers`` with ``{"nameservers": [...]}``.

Answers -> errors: 401/403 (JSON or not) AuthError; 400/422 ValidationRejected (``fields`` from
``errors[].name``; a premium domain's ``enforce_premium`` error -> DomainUnavailable); 404 NotFound;
409 or an "unavailable" message DomainUnavailable; 429 RateLimited (client); 5xx TransientError with
``retry_after``; a 2xx that is not the expected JSON, or any other status -> ProtocolError.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared import defaults
from shared.audit import AuditSink
from shared.contact import GANDI_TYPE, Contact
from shared.errors import (
    AmbiguousError,
    AuthError,
    AwaitingRegistry,
    ConfigError,
    DomainUnavailable,
    NotFound,
    ProtocolError,
    TransientError,
    UpstreamError,
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
from shared.gateways.gandi_day2 import GandiDay2
from shared.http import HttpResponse, OutboundClient, policy_for, register_secret
from shared.http.redact import get_logger, scrub_upstream_text
from shared.jobs import RegisterJob, RenewJob
from shared.settings import Settings
from shared.upstream.policy import CallPolicy

PROVIDER = "gandi"
AVAILABLE = "available"
RETRIABLE_STATUSES = frozenset({"pending", "error_timeout"})
POLL_FIRST, POLL_MAX = 0.2, 2.0
log = get_logger("regq.gateways.gandi")


def gandi_contact(contact: Contact) -> dict[str, Any]:
    """A Gandi v5 contact object (``type`` integer, ``+CC.NUMBER`` phone, ``state`` an ISO 3166-2 code).

    Gandi's ``state`` takes a subdivision code (``FR-IDF``): a state given as text naming no subdivision
    pycountry knows (``Sector 6``) is left out rather than sent where a code goes.
    """
    body: dict[str, Any] = {
        "type": GANDI_TYPE[contact.type],
        "given": contact.given,
        "family": contact.family,
        "email": contact.email,
        "phone": contact.phone,
        "streetaddr": contact.streetaddr,
        "city": contact.city,
        "country": contact.country,
    }
    optional = {"zip": contact.zip, "state": contact.state_code, "orgname": contact.orgname}
    body.update({k: v for k, v in optional.items() if v})
    return body


def _body(response: HttpResponse) -> Any:
    try:
        return response.json()
    except ProtocolError:
        return None


def _problems(body: Any) -> tuple[list[str], list[str]]:
    """(field names, scrubbed descriptions) of a ``{"status": "error", "errors": [...]}`` body."""
    errors = body.get("errors") if isinstance(body, dict) else None
    fields: list[str] = []
    texts: list[str] = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict):
            name = str(item.get("name") or item.get("location") or "?")
            fields.append(scrub_upstream_text(name, 80))
            texts.append(f"{fields[-1]}: {scrub_upstream_text(item.get('description'), 120)}")
    return fields, texts


def gandi_error(response: HttpResponse) -> UpstreamError:
    """The typed error for a non-success Gandi answer (any body shape, JSON or not)."""
    status, body = response.status, _body(response)
    message, code = "", None
    if isinstance(body, dict):
        message = scrub_upstream_text(body.get("message") or body.get("cause"))
        code = scrub_upstream_text(body.get("object") or body.get("code") or "", 40) or None
    fields, texts = _problems(body)
    detail = "; ".join(texts) or message or f"HTTP {status}"
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "upstream_code": code}
    if status in (401, 403):
        return AuthError(f"credentials refused (HTTP {status})", **kw)
    if status >= 500:
        return TransientError(f"upstream error: {detail}", retry_after=response.retry_after, **kw)
    if status == 409:
        return DomainUnavailable(f"domain not available: {detail}", **kw)
    if status in (400, 422):
        if "enforce_premium" in fields:
            return DomainUnavailable(f"premium domain (not registered at a premium price): {detail}", **kw)
        if "not available" in detail.lower() or "unavailable" in detail.lower():
            return DomainUnavailable(f"domain not available: {detail}", **kw)
        return ValidationRejected(f"rejected: {detail}", fields=fields, **kw)
    if status == 404:
        return NotFound(f"not found: {detail}", **kw)
    return ProtocolError(f"unexpected answer: {detail}", **kw)


def _accepted(response: HttpResponse) -> dict[str, Any]:
    """A 2xx JSON object answer, else the matching error."""
    if not 200 <= response.status < 300:
        raise gandi_error(response)
    if not response.content.strip():  # e.g. 204, or a 202 without a body
        return {}
    body = response.json()
    if not isinstance(body, dict):
        raise ProtocolError("expected a JSON object", provider=PROVIDER, status=response.status)
    return body


def _availability(fqdn: str, response: HttpResponse) -> Availability:
    body = _accepted(response)
    products = body.get("products")
    if not isinstance(products, list) or not products or not all(isinstance(p, dict) for p in products):
        raise ProtocolError("check answer without products", provider=PROVIDER, status=response.status)
    product = next((p for p in products if p.get("name") == fqdn), products[0])
    status = product.get("status")
    if not isinstance(status, str) or not status:
        raise ProtocolError("check answer without a product status", provider=PROVIDER)
    currency = body.get("currency") if isinstance(body.get("currency"), str) else None
    return Availability(
        domain=fqdn,
        available=status == AVAILABLE,
        status=status,
        retriable=status in RETRIABLE_STATUSES,
        price=_one_year_price(product.get("prices")),
        currency=currency,
    )


def _one_year_price(prices: Any) -> Decimal | None:
    for price in prices if isinstance(prices, list) else []:
        if not isinstance(price, dict):
            continue
        low = price.get("min_duration", price.get("duration_min", 1))
        high = price.get("max_duration", price.get("duration_max", 1))
        if isinstance(low, int) and isinstance(high, int) and not low <= 1 <= high:
            continue
        try:
            return Decimal(str(price["price_before_taxes"]))
        except (KeyError, InvalidOperation):
            continue
    return None


def _detail(fqdn: str, response: HttpResponse) -> tuple[DomainInfo, Any]:
    """(DomainInfo, created date) from ``GET /domain/domains/{fqdn}``. Never keeps ``authinfo``."""
    body = _accepted(response)
    raw_dates = body.get("dates")
    dates: dict[str, Any] = raw_dates if isinstance(raw_dates, dict) else {}
    statuses = body.get("status", [])
    nameservers = body.get("nameservers", [])
    info = DomainInfo(
        domain=fqdn,
        expires_at=parse_day(dates.get("registry_ends_at")),
        statuses=[str(s) for s in statuses] if isinstance(statuses, list) else [],
        nameservers=[str(n) for n in nameservers] if isinstance(nameservers, list) else [],
    )
    return info, parse_day(dates.get("registry_created_at"))


def _dry_run_verdict(fqdn: str, response: HttpResponse) -> DryRunResult:
    body = _body(response) if response.status in (200, 400, 422) else None
    if isinstance(body, dict) and body.get("status") == "success" and response.status == 200:
        return DryRunResult(fqdn, True)
    if isinstance(body, dict) and body.get("status") == "error":
        fields, texts = _problems(body)
        return DryRunResult(fqdn, False, fields, texts)
    if response.status == 200:
        raise ProtocolError("unexpected dry-run answer", provider=PROVIDER, status=200)
    error = gandi_error(response)
    if isinstance(error, DomainUnavailable):
        return DryRunResult(fqdn, False, ["fqdn"], [error.message])
    raise error


class GandiGateway(GandiDay2, Gateway):
    name = PROVIDER

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink,
        contacts: ContactDirectory | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if settings.gandi_token is None or not settings.gandi_token.get_secret_value().strip():
            raise ConfigError("REGQ_GANDI_TOKEN", "required for the gandi gateway")
        token = settings.gandi_token.get_secret_value().strip()
        register_secret(token)
        if token.lower().startswith("apikey:"):
            token = token[len("apikey:") :].strip()
            self._authorization = f"Apikey {token}"
        else:
            self._authorization = f"Bearer {token}"
        register_secret(token)
        self.base_url = settings.gandi_api_url.rstrip("/")
        self.sharing_id = settings.gandi_sharing_id
        self.visibility_wait = settings.gandi_visibility_wait_seconds
        self.sleep, self.clock = sleep, clock
        outbound = policy_for(self.base_url, settings)
        self.client = OutboundClient(
            PROVIDER, outbound, audit, tries=settings.http_tries, sleep=sleep, rng=rng
        )

    def __repr__(self) -> str:
        return f"GandiGateway({self.base_url!r})"

    def close(self) -> None:
        self.client.close()

    def _create_body(self, job: RegisterJob) -> dict[str, Any]:
        body: dict[str, Any] = {"fqdn": job.domain, "owner": gandi_contact(job.owner), "duration": job.years}
        if job.nameservers and not job.glue:  # in-zone ones need their glue first: a step after the create
            body["nameservers"] = list(job.nameservers)
        return body

    def _read(self, fqdn: str, policy: CallPolicy) -> tuple[DomainInfo, Any]:
        return self._call(
            "GET", self._domain_path(fqdn), policy, "info", lambda r: _detail(fqdn, r), idempotent=True
        )

    def _poll(
        self,
        fqdn: str,
        policy: CallPolicy,
        done: Callable[[DomainInfo], bool],
        what: str,
        absent_ok: bool = False,
    ) -> Any:
        """Read the domain until ``done`` (404s included), for at most ``visibility_wait`` seconds; at the
        deadline: None if ``absent_ok``, else AmbiguousError."""

        def read() -> Any:
            try:
                return self._read(fqdn, policy)
            except NotFound:
                return None  # read-after-create: not visible yet

        found, confirmed = read_back(
            read,
            lambda found: found is not None and done(found[0]),
            self.visibility_wait,
            sleep=self.sleep,
            clock=self.clock,
            first=POLL_FIRST,
            largest=POLL_MAX,
        )
        if confirmed:
            return found
        if absent_ok:
            return None
        raise AmbiguousError(
            f"{what} accepted but not confirmed after {self.visibility_wait:g} s", provider=PROVIDER
        )

    # -- operations
    def check(self, domain: str, policy: CallPolicy) -> Availability:
        fqdn = ascii_domain(domain, PROVIDER)
        return self._call(
            "GET",
            "/domain/check",
            policy,
            "check",
            lambda r: _availability(fqdn, r),
            idempotent=True,
            query={"name": fqdn},
        )

    def register(self, job: RegisterJob, policy: CallPolicy) -> RegisteredDomain:
        if job.dry_run:
            raise ValueError("a dry-run job goes to dry_run_register(), never register()")
        body = self._create_body(job)
        self._call(
            "POST", "/domain/domains", policy, "create", _accepted, idempotent=False, body=body, effect=True
        )
        info, created = self._poll(job.domain, policy, lambda i: i.expires_at is not None, "creation")
        return RegisteredDomain(job.domain, info.expires_at, created, list(info.nameservers))

    def renew(self, job: RenewJob, policy: CallPolicy, *, expected: date | None = None) -> RenewedDomain:
        """Renew, then read back until the expiry shows ``expected`` (the term's new expiry; without it,
        until it moved past the job's ``current_expiry``). A registry still showing the old date at the
        end of the read-back window: AwaitingRegistry (the renewal was accepted; never send it again)."""
        path = self._domain_path(job.domain, "/renew")
        body = {"duration": job.years}
        self._call("POST", path, policy, "renew", _accepted, idempotent=False, body=body, effect=True)
        current = job.current_expiry

        def moved(info: DomainInfo) -> bool:
            if info.expires_at is None:
                return False
            if expected is not None:
                return info.expires_at >= expected - TOLERANCE
            return current is None or info.expires_at > current

        try:
            info, _ = self._poll(job.domain, policy, moved, "renewal")
        except AmbiguousError:
            raise AwaitingRegistry(
                PROVIDER,
                float(defaults.REGISTRY_LAG_RECHECK_SECONDS),
                f"renewal accepted; the new expiry {expected or 'date'} is not shown yet",
            ) from None
        return RenewedDomain(job.domain, info.expires_at)

    def info(self, domain: str, policy: CallPolicy) -> DomainInfo:
        return self._read(ascii_domain(domain, PROVIDER), policy)[0]

    def find(self, domain: str, policy: CallPolicy, *, settle: bool = False) -> DomainInfo | None:
        if not settle:
            return super().find(domain, policy)
        found = self._poll(
            ascii_domain(domain, PROVIDER), policy, lambda _info: True, "lookup", absent_ok=True
        )
        return None if found is None else found[0]

    def dry_run_register(self, job: RegisterJob, policy: CallPolicy) -> DryRunResult:
        body = self._create_body(job)

        def verdict(response: HttpResponse) -> DryRunResult:
            return _dry_run_verdict(job.domain, response)

        path = "/domain/domains"
        return self._call("POST", path, policy, "dry_run", verdict, idempotent=True, body=body, dry_run=True)

    def set_nameservers(
        self,
        domain: str,
        hosts: list[str],
        policy: CallPolicy,
        *,
        glue: Mapping[str, list[str]] | None = None,
    ) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        for host, addresses in (glue or {}).items():  # glue records first: POST .../hosts {name, ips}
            label = host.removesuffix("." + fqdn)
            path = self._domain_path(fqdn, "/hosts")
            body_glue = {"name": label, "ips": list(addresses)}
            self._call("POST", path, policy, "hosts", _accepted, idempotent=True, body=body_glue)
        path = self._domain_path(fqdn, "/nameservers")
        body = {"nameservers": list(hosts)}
        self._call("PUT", path, policy, "nameservers", _accepted, idempotent=True, body=body)

    def tlds(self, policy: CallPolicy, category: str | None = None) -> list[str]:
        """The TLDs Gandi sells (``category``: ``gTLD`` or ``ccTLD``; None: all), every page, in its order:
        ``GET /domain/tlds?page=&per_page=`` answers a JSON array of ``{"name", "href"}`` and ``[]`` past
        the last page (https://api.gandi.net/docs/domains/, "List available TLD extensions")."""
        size, names = defaults.GANDI_TLDS_PER_PAGE, dict[str, None]()

        def page_of(response: HttpResponse) -> list[str]:
            if not 200 <= response.status < 300:
                raise gandi_error(response)
            items = response.json()
            if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
            ):
                raise ProtocolError("TLD list is not an array of {name}", provider=PROVIDER)
            return [str(i["name"]).strip().lower() for i in items]

        for page in range(1, defaults.GANDI_TLDS_MAX_PAGES + 1):
            query = {"page": str(page), "per_page": str(size), **({"category": category} if category else {})}
            found = self._call("GET", "/domain/tlds", policy, "tlds", page_of, idempotent=True, query=query)
            names.update(dict.fromkeys(found))
            if len(found) < size:
                return list(names)
        raise ProtocolError(f"TLD list longer than {defaults.GANDI_TLDS_MAX_PAGES} pages", provider=PROVIDER)
