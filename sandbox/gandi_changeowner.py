"""Gandi v5 stand-in, the owner change (part of :mod:`sandbox.gandi_day2`, which routes to it).

Endpoints (source: Gandi's endpoint list, https://api.gandi.net/docs/domains/ , as scraped into
millsymills-com/gandi-mcp ``tests/data/raml_coverage_snapshot.json``): ``POST /domain/changeowner/{fqdn}``
``{"owner": {...}}`` starts it, ``GET /domain/changeowner/{fqdn}`` reports it, ``POST
/domain/changeowner/{fqdn}/foa`` ``{"email"}`` sends a confirmation e-mail again. Gandi e-mails the old and
the new owner for confirmation; once both answered, the domain's ``contacts.owner`` is the new owner.

Scenarios (sandbox conventions, like :mod:`sandbox.gandi_transfers`), by the first label:
``owner-refused-`` the old owner declines ``changeowner_delay`` seconds after the start; ``owner-nofoa-``
the e-mails are never answered (pending for ever). Any other change completes after ``changeowner_delay``
seconds (the domain's owner becomes the new one; counted as the effect ``owner_change``).

Assumptions (no public source shows them): every answer's status and message; the record's fields
(modelled on the transfer-in's: ``step``, ``inner_step``, ``errortype``, ``errortype_label``, ``foa``
[{email, answer}], ``owner``, ``created_at``, ``updated_at``) and their values; 409 for a change while one
runs; 404 for a domain not in the account. Config switches play both ways where unsure:
``changeowner_failure_report`` ``errortype`` (``errortype``/``errortype_label`` set) or ``step`` (no
errortype, ``step: "refused"``); ``changeowner_record_after_done`` ``kept`` (``step: "done"``) or ``gone``
(404 once complete).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.domains import Domain, DomainStore, iso_z, utcnow
from sandbox.gandi_transfers import _bad, _gone, _message
from sandbox.gandi_validation import contact_errors
from sandbox.httpbase import Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.gandi import GandiProvider

CONFIG: dict[str, Any] = {
    "changeowner_delay": 0.3,
    "changeowner_failure_report": "errortype",
    "changeowner_record_after_done": "kept",
}
CHOICES = {
    "changeowner_failure_report": ("errortype", "step"),
    "changeowner_record_after_done": ("kept", "gone"),
}
REFUSED = ("owner_change_refused", "The current owner refused the owner change")


@dataclass
class OwnerChange:
    fqdn: str
    owner: dict[str, Any]
    old_email: str
    started: float
    created: datetime
    scenario: str | None  # "refused", "nofoa" or None (completes)
    done: bool = False

    def refused(self, now: float, delay: float) -> bool:
        return self.scenario == "refused" and now >= self.started + delay


class OwnerChangeEndpoints:
    """The owner-change half of :class:`sandbox.gandi_day2.Day2Endpoints` (a mixin over its state)."""

    provider: GandiProvider
    store: DomainStore
    owner_changes: dict[str, OwnerChange]

    @property
    def _owner_delay(self) -> float:
        return float(self.provider.config["changeowner_delay"])

    def settle_owner(self, dom: Domain) -> None:
        """Apply a change whose confirmations came in (called under the store's lock)."""
        change = self.owner_changes.get(dom.fqdn)
        if change is None or change.done or change.scenario is not None:
            return
        if time.time() >= change.started + self._owner_delay:
            dom.contacts = {**dom.contacts, "owner": change.owner}
            dom.updated_at = utcnow()
            change.done = True

    def _changeowner(self, req: Request, fqdn: str) -> Response:
        body = req.json()
        owner = body.get("owner") if isinstance(body, dict) else None
        if owner is None:
            return _bad("owner", "Field required")
        errors = contact_errors("owner", owner)
        if errors:
            return json_response(400, {"status": "error", "errors": errors})
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return _gone()
        self.settle_owner(dom)
        running = self.owner_changes.get(fqdn)
        now = time.time()
        if running is not None and not running.done and not running.refused(now, self._owner_delay):
            return json_response(
                409, {"code": 409, "message": "An owner change is in progress.", "object": "HTTPConflict"}
            )
        label = fqdn.split(".", 1)[0]
        scenario = next((s for s in ("refused", "nofoa") if label.startswith(f"owner-{s}-")), None)
        current = dom.contacts.get("owner")
        old_email = str((current if isinstance(current, dict) else {}).get("email") or f"owner@{fqdn}")
        self.owner_changes[fqdn] = OwnerChange(fqdn, dict(owner), old_email, now, utcnow(), scenario)
        self.provider.stats.effect(fqdn, "owner_change")
        return _message(202, "The owner change is being processed.")

    def _changeowner_info(self, req: Request, fqdn: str) -> Response:
        change = self.owner_changes.get(fqdn)
        if change is None:
            return _gone()
        dom = self.store.get_ours(fqdn)
        if dom is not None:
            self.settle_owner(dom)
        if change.done and self.provider.config["changeowner_record_after_done"] == "gone":
            return _gone()
        refused = change.refused(time.time(), self._owner_delay)
        answer = "pending" if change.scenario == "nofoa" or not (change.done or refused) else "yes"
        new_answer = "no" if refused else answer
        out: dict[str, Any] = {
            "fqdn": fqdn,
            "step": "done" if change.done else "waiting_foa",
            "inner_step": None,
            "errortype": None,
            "errortype_label": None,
            "owner": {k: change.owner.get(k) for k in ("given", "family", "orgname", "email")},
            "foa": [
                {"email": change.old_email, "answer": new_answer},
                {"email": str(change.owner.get("email")), "answer": answer},
            ],
            "created_at": iso_z(change.created),
            "updated_at": iso_z(utcnow()),
        }
        if refused:
            if self.provider.config["changeowner_failure_report"] == "errortype":
                out.update(errortype=REFUSED[0], errortype_label=REFUSED[1])
            else:
                out.update(step="refused", inner_step="owner_refused")
        return json_response(200, out)

    def _changeowner_foa(self, req: Request, fqdn: str) -> Response:
        change = self.owner_changes.get(fqdn)
        if change is None:
            return _gone()
        body = req.json()
        email = body.get("email") if isinstance(body, dict) else None
        if email not in (change.old_email, change.owner.get("email")):
            return _bad("email", "Not an e-mail address of this owner change")
        return _message(200, "The confirmation e-mail has been sent again.")
