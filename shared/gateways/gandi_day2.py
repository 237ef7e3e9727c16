"""Gandi API v5: the day-2 operations (issue 20), a mixin :class:`GandiGateway` inherits.

Every request goes through the gateway's ``_call`` under the delivery's policy; only the transfer's start
is ``effect=True`` (it is paid and not refunded when it fails: check first). Endpoints and their sources
(Gandi's reference https://api.gandi.net/docs/domains/ ; public clients: the gandi_v5 Ruby gem
RobertGauld/gandi_v5, go-gandi/go-gandi, Gandi/whmcs_Gandi-module):

* transfer_check: ``POST /domain/transferin/{fqdn}/available`` ``{}`` or ``{"authinfo"}`` -> ``available``,
  ``durations``, ``msg`` (gem ``lib/gandi_v5/domain/transfer_in/availability.rb``).
* transfer_start: ``POST /domain/transferin`` with ``fqdn``, ``owner``, ``authinfo``, ``duration``, and
  ``admin``/``bill``/``tech`` when given (inline contacts like ``owner``)
  (whmcs ``modules/registrars/gandiv5/lib/ApiClient.php`` transferDomain; gem
  ``lib/gandi_v5/domain/transfer_in.rb`` create).
* transfer_status: ``GET /domain/transferin/{fqdn}`` -> ``step``, ``inner_step``, ``errortype``,
  ``errortype_label``, ``foa`` [{email, answer}] (gem ``transfer_in.rb`` fetch), then
  ``GET /domain/domains/{fqdn}``: completed only once the domain is ours and its ``status`` no longer
  holds ``pendingTransfer``; the expiry is the domain's ``dates.registry_ends_at``. The VALUES of
  step/inner_step/errortype are not documented: an ``errortype``, or a step naming an error, a failure,
  a cancel or a refusal, is a failure; anything else pending; the raw words are kept.
* transfer_resend_confirmation: ``POST /domain/transferin/{fqdn}/foa`` ``{"email"}`` (gem
  ``transfer_in.rb`` resend_foa_emails); the address is the status's ``foa`` entry.
* transfer_replace_auth_code: ``PUT /domain/transferin/{fqdn}/authinfo`` ``{"authinfo"}`` (Gandi's
  endpoint list; no public client seen).
* domain_state / auth_code: ``GET /domain/domains/{fqdn}``: ``nameservers``, ``status``, ``can_tld_lock``,
  ``autorenew`` (object with ``enabled``, or a bool: gem ``lib/gandi_v5/domain.rb``), ``authinfo`` and
  ``dates.authinfo_expires_at`` (go-gandi ``domain/types.go`` Details, ResponseDates).
* set_lock: ``PATCH /domain/domains/{fqdn}/status`` ``{"clientTransferProhibited": bool}`` (Gandi's
  endpoint list), only where ``can_tld_lock``; read back until the status shows it.
* set_autorenew: ``PATCH .../autorenew`` ``{"enabled": bool}`` (go-gandi ``domain/domain.go`` SetAutoRenew).
* auth_code reset: ``PUT .../authinfo`` without a body (Gandi's endpoint list); its answer's shape is not
  documented, so the domain is read again after it.
* update_contacts: ``PATCH .../contacts`` with ``admin``/``bill``/``tech`` (gem ``domain.rb``
  update_contacts; go-gandi SetContacts); the owner changes through ``POST /domain/changeowner/{fqdn}``.
* glue: ``GET|POST .../hosts`` ``{"name", "ips"}``, ``GET|PUT|DELETE .../hosts/{name}`` ``{"ips"}``
  (go-gandi ``domain/domain.go`` *GlueRecord; gem ``domain.rb`` glue_records); ``name`` is the label
  under the domain. A write is confirmed by reading the host until it shows the addresses.
* the owner change (``/domain/changeowner``): :mod:`shared.gateways.gandi_owner`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared.contact import Contact
from shared.errors import AmbiguousError, NotFound, Unsupported, ValidationRejected
from shared.gateways.base import ascii_domain, read_back
from shared.gateways.day2 import (
    AuthCode,
    Day2Operations,
    DomainState,
    GlueHost,
    Secret,
    Transferability,
    TransferState,
    TransferStatus,
)
from shared.gateways.gandi_answers import (
    CONTACT_ROLES,
    FOA_ANSWERED,
    LOCK_STATUS,
    PENDING_TRANSFER,
    PROVIDER,
    DomainView,
    canonical_ips,
    contact_body,
    domain_view,
    failed,
    json_array,
    json_object,
    strings,
    transferability,
    upstream_text,
)
from shared.gateways.gandi_owner import GandiOwnerChange
from shared.http import HttpResponse, register_secret
from shared.upstream.policy import CallPolicy

GLUE_FIRST, GLUE_MAX = 0.2, 2.0


class GandiDay2(GandiOwnerChange, Day2Operations):
    """The day-2 operations for :class:`~shared.gateways.gandi.GandiGateway` (see the module)."""

    if TYPE_CHECKING:  # provided by GandiGateway (``_call``, ``_domain_path``: GandiCalls)
        visibility_wait: float
        sleep: Callable[[float], None]
        clock: Callable[[], float]

    # -- plumbing
    @staticmethod
    def _transfer_path(fqdn: str, suffix: str = "") -> str:
        return f"/domain/transferin/{quote(fqdn, safe='')}{suffix}"

    def _domain_view(self, fqdn: str, policy: CallPolicy) -> DomainView:
        return self._call(
            "GET", self._domain_path(fqdn), policy, "info", lambda r: domain_view(fqdn, r), idempotent=True
        )

    def _find_view(self, fqdn: str, policy: CallPolicy) -> DomainView | None:
        try:
            return self._domain_view(fqdn, policy)
        except NotFound:
            return None

    def _confirm(self, read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        value, confirmed = read_back(
            read,
            done,
            self.visibility_wait,
            sleep=self.sleep,
            clock=self.clock,
            first=GLUE_FIRST,
            largest=GLUE_MAX,
        )
        if not confirmed:
            raise AmbiguousError(
                f"{what} accepted but not shown after {self.visibility_wait:g} s", provider=PROVIDER
            )
        return value

    # -- transfer-in
    def transfer_check(self, domain: str, auth_code: Secret | None, policy: CallPolicy) -> Transferability:
        fqdn = ascii_domain(domain, PROVIDER)
        body: dict[str, str] = {}
        if auth_code is not None:
            register_secret(auth_code.reveal())
            body["authinfo"] = auth_code.reveal()
        path = self._transfer_path(fqdn, "/available")

        def verdict(response: HttpResponse) -> Transferability:
            return transferability(fqdn, response)

        return self._call("POST", path, policy, "transfer_check", verdict, idempotent=True, body=body)

    def transfer_start(
        self,
        domain: str,
        auth_code: Secret,
        owner: Contact,
        years: int,
        policy: CallPolicy,
        *,
        contacts: dict[str, Contact] | None = None,
    ) -> TransferStatus:
        fqdn = ascii_domain(domain, PROVIDER)
        roles = dict(contacts or {})
        unknown = sorted(set(roles) - set(CONTACT_ROLES))
        if unknown:
            raise ValidationRejected(
                f"transfer contacts must be among {', '.join(CONTACT_ROLES)}; not sent",
                provider=PROVIDER,
                fields=unknown,
            )
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 10:
            raise ValidationRejected(
                "duration must be 1..10 years, not sent", provider=PROVIDER, fields=["duration"]
            )
        code = auth_code.reveal()
        if not code.strip():
            raise ValidationRejected("empty auth code, not sent", provider=PROVIDER, fields=["authinfo"])
        register_secret(code)
        body = {"fqdn": fqdn, "owner": contact_body(owner), "authinfo": code, "duration": years}
        body.update({role: contact_body(roles[role]) for role in CONTACT_ROLES if role in roles})
        self._call(
            "POST",
            "/domain/transferin",
            policy,
            "transfer_start",
            json_object,
            idempotent=False,
            body=body,
            effect=True,
        )
        status = self.transfer_status(fqdn, policy)
        return status or TransferStatus(fqdn, TransferState.PENDING, detail="accepted; not listed yet")

    def _transfer_record(self, fqdn: str, policy: CallPolicy) -> dict[str, Any] | None:
        try:
            return self._call(
                "GET", self._transfer_path(fqdn), policy, "transfer_info", json_object, idempotent=True
            )
        except NotFound:
            return None

    def transfer_status(self, domain: str, policy: CallPolicy) -> TransferStatus | None:
        fqdn = ascii_domain(domain, PROVIDER)
        record = self._transfer_record(fqdn, policy)
        step = inner = detail = None
        if record is not None:
            step, inner = upstream_text(record.get("step")), upstream_text(record.get("inner_step"))
            errortype = upstream_text(record.get("errortype"))
            label = upstream_text(record.get("errortype_label"))
            detail = label or errortype or inner
            if failed(step, inner, errortype):
                return TransferStatus(fqdn, TransferState.FAILED, step, detail or step)
        found = self._find_view(fqdn, policy)
        if found is None:
            return None if record is None else TransferStatus(fqdn, TransferState.PENDING, step, detail)
        if PENDING_TRANSFER in found.statuses or found.expires_at is None:
            return TransferStatus(fqdn, TransferState.PENDING, step or PENDING_TRANSFER, detail)
        return TransferStatus(fqdn, TransferState.COMPLETED, step, detail, found.expires_at)

    def transfer_resend_confirmation(self, domain: str, policy: CallPolicy) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        record = self._transfer_record(fqdn, policy)
        if record is None:
            raise NotFound("no transfer-in of this domain", provider=PROVIDER, status=404)
        foa = record.get("foa")
        entries = [f for f in foa if isinstance(f, dict)] if isinstance(foa, list) else []
        emails = [f.get("email") for f in entries if str(f.get("answer") or "").lower() not in FOA_ANSWERED]
        email = next((e for e in emails if isinstance(e, str) and e), None)
        if email is None:
            raise ValidationRejected(
                "no unanswered confirmation e-mail to send again", provider=PROVIDER, fields=["foa"]
            )
        path = self._transfer_path(fqdn, "/foa")
        body = {"email": email}
        self._call("POST", path, policy, "transfer_foa", json_object, idempotent=True, body=body)

    def transfer_replace_auth_code(self, domain: str, auth_code: Secret, policy: CallPolicy) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        code = auth_code.reveal()
        if not code.strip():
            raise ValidationRejected("empty auth code, not sent", provider=PROVIDER, fields=["authinfo"])
        register_secret(code)
        path = self._transfer_path(fqdn, "/authinfo")
        body = {"authinfo": code}
        self._call("PUT", path, policy, "transfer_authinfo", json_object, idempotent=True, body=body)

    # -- the domain's settings
    def domain_state(self, domain: str, policy: CallPolicy) -> DomainState:
        return self._domain_view(ascii_domain(domain, PROVIDER), policy).state()

    def set_lock(self, domain: str, locked: bool, policy: CallPolicy) -> DomainState:
        fqdn = ascii_domain(domain, PROVIDER)
        if not self._domain_view(fqdn, policy).can_tld_lock:
            raise Unsupported(PROVIDER, f"a transfer lock for .{fqdn.rsplit('.', 1)[-1]}")
        body = {LOCK_STATUS: bool(locked)}
        path = self._domain_path(fqdn, "/status")
        self._call("PATCH", path, policy, "lock", json_object, idempotent=True, body=body)
        view = self._confirm(
            lambda: self._domain_view(fqdn, policy),
            lambda v: (LOCK_STATUS in v.statuses) == bool(locked),
            "lock change",
        )
        return view.state()  # type: ignore[no-any-return]

    def set_autorenew(self, domain: str, enabled: bool, policy: CallPolicy) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        path = self._domain_path(fqdn, "/autorenew")
        body = {"enabled": bool(enabled)}
        self._call("PATCH", path, policy, "autorenew", json_object, idempotent=True, body=body)

    def auth_code(self, domain: str, policy: CallPolicy, *, reset: bool = False) -> AuthCode:
        fqdn = ascii_domain(domain, PROVIDER)
        if reset:
            path = self._domain_path(fqdn, "/authinfo")
            self._call("PUT", path, policy, "authinfo_reset", json_object, idempotent=False)
        view = self._domain_view(fqdn, policy)  # the reset's answer is not documented: read the domain
        if view.authinfo is None:
            raise Unsupported(PROVIDER, f"an auth code for .{fqdn.rsplit('.', 1)[-1]} (none shown)")
        return AuthCode(fqdn, view.authinfo, view.authinfo_expires_at)

    def update_contacts(self, domain: str, contacts: dict[str, Contact], policy: CallPolicy) -> list[str]:
        fqdn = ascii_domain(domain, PROVIDER)
        if "owner" in contacts:
            raise ValidationRejected(
                "the owner is changed by an owner change (POST /domain/changeowner), not here; not sent",
                provider=PROVIDER,
                fields=["owner"],
            )
        unknown = sorted(set(contacts) - set(CONTACT_ROLES))
        if unknown or not contacts:
            raise ValidationRejected(
                f"roles must be among {', '.join(CONTACT_ROLES)}; not sent",
                provider=PROVIDER,
                fields=unknown or ["contacts"],
            )
        body = {role: contact_body(contacts[role]) for role in CONTACT_ROLES if role in contacts}
        path = self._domain_path(fqdn, "/contacts")
        self._call("PATCH", path, policy, "contacts", json_object, idempotent=True, body=body)
        return []

    # -- glue hosts
    def _glue_label(self, fqdn: str, host: str) -> str:
        name = host.strip().rstrip(".").lower()
        label = name.removesuffix("." + fqdn) if name.endswith("." + fqdn) else name
        if not label or "." in label or "/" in label:
            raise ValidationRejected(
                f"a glue host must be under {fqdn}, not sent", provider=PROVIDER, fields=["host"]
            )
        return label

    def _host(self, fqdn: str, item: Any) -> GlueHost | None:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        name = str(item["name"]).lower()
        host = name if name.endswith("." + fqdn) else f"{name}.{fqdn}"
        return GlueHost(host, strings(item.get("ips")))

    def glue_hosts(self, domain: str, policy: CallPolicy) -> list[GlueHost]:
        fqdn = ascii_domain(domain, PROVIDER)

        def hosts(response: HttpResponse) -> list[GlueHost]:
            return [h for h in (self._host(fqdn, i) for i in json_array(response)) if h is not None]

        return self._call(
            "GET", self._domain_path(fqdn, "/hosts"), policy, "hosts_info", hosts, idempotent=True
        )

    def _read_host(self, fqdn: str, label: str, policy: CallPolicy) -> GlueHost | None:
        path = self._domain_path(fqdn, f"/hosts/{quote(label, safe='')}")
        try:
            return self._call(
                "GET", path, policy, "host_info", lambda r: self._host(fqdn, json_object(r)), idempotent=True
            )
        except NotFound:
            return None

    def glue_set(self, domain: str, host: GlueHost, policy: CallPolicy) -> GlueHost:
        fqdn = ascii_domain(domain, PROVIDER)
        label = self._glue_label(fqdn, host.host)
        try:
            wanted = frozenset(str(ipaddress.ip_address(str(a).strip())) for a in host.addresses)
        except ValueError:
            wanted = frozenset()
        if not wanted:
            raise ValidationRejected(
                "glue needs IP addresses, not sent", provider=PROVIDER, fields=["addresses"]
            )
        ips = sorted(wanted)
        if self._read_host(fqdn, label, policy) is None:
            body: dict[str, Any] = {"name": label, "ips": ips}
            path = self._domain_path(fqdn, "/hosts")
            self._call("POST", path, policy, "hosts", json_object, idempotent=True, body=body)
        else:
            path = self._domain_path(fqdn, f"/hosts/{quote(label, safe='')}")
            self._call("PUT", path, policy, "host_update", json_object, idempotent=True, body={"ips": ips})
        found = self._confirm(
            lambda: self._read_host(fqdn, label, policy),
            lambda h: h is not None and canonical_ips(h.addresses) == wanted,
            "glue host",
        )
        return found  # type: ignore[no-any-return]

    def glue_delete(self, domain: str, host: str, policy: CallPolicy) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        label = self._glue_label(fqdn, host)
        path = self._domain_path(fqdn, f"/hosts/{quote(label, safe='')}")
        try:
            self._call("DELETE", path, policy, "host_delete", json_object, idempotent=True)
        except NotFound:
            return  # gone already
