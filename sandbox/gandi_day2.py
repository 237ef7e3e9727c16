"""Gandi v5 stand-in, day-2 endpoints: transfer-in, lock, auto-renew, auth code, contacts, glue hosts.

:class:`Day2Endpoints` is wired into :class:`sandbox.gandi.GandiProvider` (its ``handle`` asks this one
first). Sources (Gandi's reference https://api.gandi.net/docs/domains/ ; public clients named by their
repository path) are given per endpoint; "assumption" marks what no public source shows.

Operation names (stats and fault rules): ``transfer_check``, ``transfer_start``, ``transfer_info``,
``transfer_foa``, ``transfer_authinfo``, ``lock``, ``autorenew``, ``authinfo_reset``, ``contacts``,
``contacts_info``, ``hosts`` (create), ``hosts_info`` (list), ``host_info``, ``host_update``,
``host_delete``. Effects counted per domain (``GET /_sandbox/stats`` ``effects``): a started transfer
``transfer``, each accepted lock PATCH ``lock``, contacts PATCH ``contact``, host create ``glue_create``,
update ``glue_update``, delete ``glue_delete`` (every accepted write counts, a repeated identical one too).

The transfer-in endpoints and their scenarios: :mod:`sandbox.gandi_transfers`; the owner change
(``changeowner``, ``changeowner_info``, ``changeowner_foa``; the effect ``owner_change``):
:mod:`sandbox.gandi_changeowner`.

Config switches for what the public sources leave open (each way is an assumption):
``transfer_failure_report`` and ``transfer_record_after_done`` (see :mod:`sandbox.gandi_transfers`);
``authinfo_reset_answer`` ``message`` (202 + message), ``authinfo`` (200 with the new code) or ``empty``
(204); ``autorenew_shape`` ``object`` or ``bool``; ``host_delete_status`` 204 (no body) or 202 (message);
``host_delay`` seconds before a created or updated host shows; ``no_lock_tlds`` TLDs whose domains say
``can_tld_lock: false`` (default ``["ch"]``: an assumption, which TLDs Gandi cannot lock is not listed);
``changeowner_delay``, ``changeowner_failure_report`` and ``changeowner_record_after_done`` (see
:mod:`sandbox.gandi_changeowner`).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import gandi_changeowner
from sandbox.domains import Domain, iso_z, new_secret, normalize_fqdn, utcnow
from sandbox.gandi_changeowner import OwnerChange, OwnerChangeEndpoints
from sandbox.gandi_transfers import Transfer, TransferEndpoints, _bad, _gone, _message
from sandbox.gandi_validation import contact_errors
from sandbox.httpbase import Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.gandi import GandiProvider

PREFIX = "/v5/"
OPERATIONS = (
    "transfer_check",
    "transfer_start",
    "transfer_info",
    "transfer_foa",
    "transfer_authinfo",
    "lock",
    "autorenew",
    "authinfo_reset",
    "contacts",
    "contacts_info",
    "hosts",
    "hosts_info",
    "host_info",
    "host_update",
    "host_delete",
    "changeowner",
    "changeowner_info",
    "changeowner_foa",
)
CONFIG: dict[str, Any] = {
    "transfer_delay": 0.5,
    "pending_transfer_delay": 0.5,
    "transfer_failure_report": "errortype",
    "transfer_record_after_done": "kept",
    "authinfo_reset_answer": "message",
    "autorenew_shape": "bool",
    "host_delay": 0.0,
    "host_delete_status": 204,
    "no_lock_tlds": ["ch"],
    **gandi_changeowner.CONFIG,
}
CHOICES = {
    "transfer_failure_report": ("errortype", "step"),
    "transfer_record_after_done": ("kept", "gone"),
    "authinfo_reset_answer": ("message", "authinfo", "empty"),
    "autorenew_shape": ("object", "bool"),
    "host_delete_status": (204, 202),
    **gandi_changeowner.CHOICES,
}
ROUTES = {
    ("POST", "transferin"): "transfer_start",
    ("GET", "transfer"): "transfer_info",
    ("POST", "available"): "transfer_check",
    ("POST", "foa"): "transfer_foa",
    ("PUT", "transfer_authinfo"): "transfer_authinfo",
    ("PATCH", "status"): "lock",
    ("PATCH", "autorenew"): "autorenew",
    ("PUT", "authinfo"): "authinfo_reset",
    ("PATCH", "contacts"): "contacts",
    ("GET", "contacts"): "contacts_info",
    ("POST", "hosts"): "hosts",
    ("GET", "hosts"): "hosts_info",
    ("GET", "host"): "host_info",
    ("PUT", "host"): "host_update",
    ("DELETE", "host"): "host_delete",
    ("POST", "changeowner"): "changeowner",
    ("GET", "changeowner"): "changeowner_info",
    ("POST", "changeowner_foa"): "changeowner_foa",
}


def validate_config(config: dict[str, Any]) -> None:
    for key in ("transfer_delay", "pending_transfer_delay", "host_delay", "changeowner_delay"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a number >= 0")
    for key, allowed in CHOICES.items():
        if config[key] not in allowed:
            raise ValueError(f"{key} must be one of {list(allowed)}")
    tlds = config["no_lock_tlds"]
    if not isinstance(tlds, list) or not all(isinstance(t, str) for t in tlds):
        raise ValueError("no_lock_tlds must be a list of strings")


TRANSFER_TAILS = {"available": "available", "foa": "foa", "authinfo": "transfer_authinfo"}


def _parts(path: str) -> list[str]:
    return path[len(PREFIX) :].rstrip("/").split("/") if path.startswith(PREFIX) else []


def _route(path: str) -> tuple[str, str | None, str | None]:
    """(route key, fqdn, host label) of a day-2 path; ("", None, None) when not one."""
    parts = _parts(path)
    if parts[:2] == ["domain", "changeowner"]:
        if len(parts) == 3:
            return "changeowner", normalize_fqdn(parts[2]), None
        if len(parts) == 4 and parts[3] == "foa":
            return "changeowner_foa", normalize_fqdn(parts[2]), None
        return "", None, None
    if parts[:2] == ["domain", "transferin"]:
        if len(parts) == 2:
            return "transferin", None, None
        if len(parts) == 3:
            return "transfer", normalize_fqdn(parts[2]), None
        if len(parts) == 4 and parts[3] in TRANSFER_TAILS:
            return TRANSFER_TAILS[parts[3]], normalize_fqdn(parts[2]), None
        return "", None, None
    if parts[:2] != ["domain", "domains"] or len(parts) < 4:
        return "", None, None
    fqdn = normalize_fqdn(parts[2])
    if len(parts) == 4 and parts[3] in ("status", "autorenew", "authinfo", "contacts", "hosts"):
        return parts[3], fqdn, None
    if len(parts) == 5 and parts[3] == "hosts":
        return "host", fqdn, parts[4].lower()
    return "", None, None


class Day2Endpoints(TransferEndpoints, OwnerChangeEndpoints):
    """The day-2 state of one :class:`GandiProvider` (under its store's lock) and its endpoints."""

    def __init__(self, provider: GandiProvider) -> None:
        self.provider = provider
        self.store = provider.store
        self.reset()

    def reset(self) -> None:
        self.transfers: dict[str, Transfer] = {}
        self.owner_changes: dict[str, OwnerChange] = {}
        self.locked: dict[str, bool] = {}
        self.autorenew: dict[str, dict[str, Any]] = {}
        self.authinfo_expires: dict[str, datetime] = {}
        self.pending_hosts: dict[str, dict[str, tuple[list[str], float]]] = {}

    def operation(self, req: Request) -> str | None:
        return ROUTES.get((req.method, _route(req.path)[0]))

    def handle(self, req: Request) -> Response | None:
        key, fqdn, label = _route(req.path)
        parts = _parts(req.path)
        if parts[:2] == ["domain", "domains"] and len(parts) > 2:  # the nameservers PUT checks glue too
            self._settle_hosts(normalize_fqdn(parts[2]))
        operation = ROUTES.get((req.method, key))
        if operation is None:
            return json_response(405, {"message": "Method Not Allowed"}) if key else None
        if operation == "transfer_start":
            return self._transfer_start(req)
        assert fqdn is not None
        with self.store.lock:
            if operation.startswith(("transfer_", "changeowner")):
                return getattr(self, "_" + operation)(req, fqdn)  # type: ignore[no-any-return]
            dom = self.store.get_ours(fqdn)
            if dom is None:
                return _gone()
            if label is not None:
                return getattr(self, "_" + operation)(req, dom, label)  # type: ignore[no-any-return]
            return getattr(self, "_" + operation)(req, dom)  # type: ignore[no-any-return]

    # -- the domain object (GandiProvider._detail calls this)
    def can_lock(self, fqdn: str) -> bool:
        return fqdn.rsplit(".", 1)[-1] not in self.config["no_lock_tlds"]

    def decorate(self, dom: Domain, out: dict[str, Any]) -> None:
        """``status``, ``can_tld_lock``, ``autorenew`` (go-gandi domain/types.go Details: an object;
        gem lib/gandi_v5/domain.rb: a bool in some answers) and ``dates.authinfo_expires_at``
        (go-gandi domain/types.go ResponseDates). Assumption: a lockable domain starts locked."""
        fqdn = dom.fqdn
        self.settle_owner(dom)  # a confirmed owner change shows in contacts.owner
        out["contacts"] = dom.contacts
        if self.pending_transfer(fqdn, time.time()):
            out["status"] = ["pendingTransfer"]
        else:
            locked = self.locked.get(fqdn, self.can_lock(fqdn))
            out["status"] = ["clientTransferProhibited"] if locked else []
        out["can_tld_lock"] = self.can_lock(fqdn)
        renew = self.autorenew.get(fqdn, {"enabled": False, "duration": 1})
        if self.config["autorenew_shape"] == "bool":
            out["autorenew"] = renew["enabled"]
        else:
            out["autorenew"] = {**renew, "href": f"/v5/domain/domains/{fqdn}/autorenew"}
        if fqdn in self.authinfo_expires and isinstance(out.get("dates"), dict):
            out["dates"]["authinfo_expires_at"] = iso_z(self.authinfo_expires[fqdn])

    # -- the domain's settings
    def _lock(self, req: Request, dom: Domain) -> Response:
        """``PATCH /domain/domains/{fqdn}/status`` ``{"clientTransferProhibited": bool}`` (Gandi's endpoint
        list). Assumption: a TLD without a lock answers 400; the 202 and its message."""
        body = req.json()
        value = body.get("clientTransferProhibited") if isinstance(body, dict) else None
        if not isinstance(value, bool):
            return _bad("clientTransferProhibited", "Expected a boolean")
        if not self.can_lock(dom.fqdn):
            return _bad("clientTransferProhibited", "This TLD has no transfer lock")
        self.locked[dom.fqdn] = value
        self.provider.stats.effect(dom.fqdn, "lock")
        return _message(202, "The status is being updated.")

    def _autorenew(self, req: Request, dom: Domain) -> Response:
        """``PATCH .../autorenew`` ``{"enabled", "duration"?}`` (go-gandi domain/domain.go SetAutoRenew,
        domain/types.go AutoRenew). Assumption: the 200 and its message, and duration bounded 1..10."""
        body = req.json()
        enabled = body.get("enabled") if isinstance(body, dict) else None
        duration = body.get("duration", 1) if isinstance(body, dict) else 1
        if not isinstance(enabled, bool):
            return _bad("enabled", "Expected a boolean")
        if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= 10:
            return _bad("duration", "duration must be an integer between 1 and 10")
        self.autorenew[dom.fqdn] = {"enabled": enabled, "duration": duration}
        return _message(200, "Auto-renewal updated.")

    def _authinfo_reset(self, req: Request, dom: Domain) -> Response:
        """``PUT .../authinfo`` without a body (Gandi's endpoint list); the answer per config (assumption);
        the code expires 30 days on (assumption)."""
        dom.authinfo, dom.updated_at = new_secret(), utcnow()
        self.authinfo_expires[dom.fqdn] = utcnow() + timedelta(days=30)
        shape = self.config["authinfo_reset_answer"]
        if shape == "empty":
            return Response(204)
        if shape == "authinfo":
            return json_response(200, {"authinfo": dom.authinfo})
        return _message(202, "The authorization code has been reset.")

    def _contacts(self, req: Request, dom: Domain) -> Response:
        """``PATCH .../contacts`` with admin/bill/tech (gem lib/gandi_v5/domain.rb update_contacts).
        Assumption: an ``owner`` there answers 400 (the owner changes through ``/domain/changeowner``), the
        roles are checked like the create's contacts, and the 202 and its message."""
        body = req.json()
        if not isinstance(body, dict) or not body:
            return _bad("body", "Expected an object with admin, bill or tech")
        if "owner" in body:
            return _bad("owner", "The owner is changed with POST /domain/changeowner/{fqdn}")
        unknown = sorted(set(body) - {"admin", "bill", "tech"})
        if unknown:
            return _bad(unknown[0], "Unknown contact role")
        errors = [e for role, c in body.items() for e in contact_errors(role, c)]
        if errors:
            return json_response(400, {"status": "error", "errors": errors})
        dom.contacts = {**dom.contacts, **body}
        self.provider.stats.effect(dom.fqdn, "contact")
        return _message(202, "The contacts are being updated.")

    def _contacts_info(self, req: Request, dom: Domain) -> Response:
        """``GET .../contacts`` (go-gandi domain/domain.go GetContacts: domain/types.go Contacts)."""
        return json_response(200, dom.contacts)

    # -- glue hosts (go-gandi domain/domain.go *GlueRecord, domain/types.go GlueRecord)
    def _settle_hosts(self, fqdn: str) -> None:
        now = time.time()
        with self.store.lock:
            pending, dom = self.pending_hosts.get(fqdn, {}), self.store.domains.get(fqdn)
            for label, (ips, ready_at) in list(pending.items()):
                if now >= ready_at and dom is not None:
                    dom.glue[label] = ips
                    del pending[label]

    def _host_object(self, dom: Domain, label: str) -> dict[str, Any]:
        fqdn = f"{label}.{dom.fqdn}"
        href = f"/v5/domain/domains/{dom.fqdn}/hosts/{label}"
        return {"name": label, "ips": list(dom.glue[label]), "fqdn": fqdn, "fqdn_unicode": fqdn, "href": href}

    def _later(self, dom: Domain, label: str, ips: list[str]) -> None:
        """Assumption: a write shows ``host_delay`` seconds later (the brief's "creation is asynchronous")."""
        self.pending_hosts.setdefault(dom.fqdn, {})[label] = (
            ips,
            time.time() + float(self.config["host_delay"]),
        )
        self._settle_hosts(dom.fqdn)

    def _hosts(self, req: Request, dom: Domain) -> Response:
        """``POST .../hosts`` ``{"name": "ns1", "ips": [...]}`` (go-gandi CreateGlueRecord; the Pulumi gandi
        provider's GlueRecord: zone, name, ips); the answer, 202 and a message, is an assumption."""
        body = req.json()
        name = body.get("name") if isinstance(body, dict) else None
        ips = body.get("ips") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name or "." in name.strip("."):
            return _bad("name", "Expected the host label under the domain")
        if not isinstance(ips, list) or not ips or not all(isinstance(ip, str) for ip in ips):
            return _bad("ips", "Expected a list of IP addresses")
        self._later(dom, name.lower(), list(ips))
        self.provider.stats.effect(dom.fqdn, "glue_create")
        return _message(202, "The host is being created.")

    def _hosts_info(self, req: Request, dom: Domain) -> Response:
        """``GET .../hosts`` (go-gandi ListGlueRecords; each item domain/types.go GlueRecord: name, ips, fqdn,
        href, fqdn_unicode)."""
        return json_response(200, [self._host_object(dom, n) for n in sorted(dom.glue)])

    def _host_info(self, req: Request, dom: Domain, label: str) -> Response:
        """``GET .../hosts/{name}`` (go-gandi GetGlueRecord)."""
        if label not in dom.glue:
            return _gone()
        return json_response(200, self._host_object(dom, label))

    def _host_update(self, req: Request, dom: Domain, label: str) -> Response:
        """``PUT .../hosts/{name}`` ``{"ips"}`` (go-gandi UpdateGlueRecord, GlueRecordUpdateRequest).
        Assumption: the 202 and its message, and 404 for an unknown host."""
        body = req.json()
        ips = body.get("ips") if isinstance(body, dict) else None
        if label not in dom.glue:
            return _gone()
        if not isinstance(ips, list) or not ips or not all(isinstance(ip, str) for ip in ips):
            return _bad("ips", "Expected a list of IP addresses")
        self._later(dom, label, list(ips))
        self.provider.stats.effect(dom.fqdn, "glue_update")
        return _message(202, "The host is being updated.")

    def _host_delete(self, req: Request, dom: Domain, label: str) -> Response:
        """``DELETE .../hosts/{name}`` (go-gandi DeleteGlueRecord). Assumption: the answer
        (``host_delete_status``) and that the delete shows at once."""
        if label not in dom.glue:
            return _gone()
        del dom.glue[label]
        self.pending_hosts.get(dom.fqdn, {}).pop(label, None)
        self.provider.stats.effect(dom.fqdn, "glue_delete")
        if self.config["host_delete_status"] == 204:
            return Response(204)
        return _message(202, "The host is being deleted.")
