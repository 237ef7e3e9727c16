"""Gandi v5 stand-in, transfer-in endpoints (part of :mod:`sandbox.gandi_day2`, which routes to them).

Scenarios (sandbox conventions, like :mod:`sandbox.gandi`'s check prefixes), by the first label:
``xfer-refused-`` refused by the losing registrar and ``xfer-timeout-`` timed out, both ``transfer_delay``
seconds after the start; ``xfer-nofoa-`` the FOA e-mail is never answered (pending for ever);
``xfer-locked-`` not transferable (``available: false`` with a ``msg``; the start answers 409). An auth
code starting with ``bad`` is wrong: the check says so, a started transfer fails at once, and
``PUT .../authinfo`` with a good one restarts it. Any other transfer completes: after ``transfer_delay``
the domain is in the account with ``pendingTransfer`` for ``pending_transfer_delay`` more seconds, then
without it; its registry expiry is the old one (a seeded domain's ``expires``, else 100 days from the
start) plus the duration, set by this stand-in (read it with ``GET /_sandbox/domains``, where a transferred
domain also has ``transfer``: ``{"started_at", "completed_at"}``, unix times; completed is when
``pendingTransfer`` goes, the moment the domain reads as transferred).

Config: ``transfer_failure_report`` ``errortype`` (``errortype``/``errortype_label`` set, ``step`` the
phase) or ``step`` (no errortype, ``step`` names the failure: ``refused``, ``cancelled``, ``error``);
``transfer_record_after_done`` ``kept`` (``step: "done"``) or ``gone`` (404 once complete). Both are
assumptions: the gem (lib/gandi_v5/domain/transfer_in.rb) lists the fields, not their values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.domains import Domain, DomainStore, add_years, is_valid_fqdn, iso_z, normalize_fqdn, utcnow
from sandbox.gandi_validation import ROLES, error, validate_create
from sandbox.httpbase import Request, Response, json_response

if TYPE_CHECKING:
    from sandbox.gandi import GandiProvider

#: failure -> (errortype, errortype_label, the step naming it when reported in ``step``). Assumption: the
#: values are not documented (the gem lists the fields only: lib/gandi_v5/domain/transfer_in.rb).
FAILURES = {
    "badcode": ("authinfo_invalid", "The authorization code is not valid", "error"),
    "refused": ("transfer_refused", "The current registrar refused the transfer", "refused"),
    "timeout": ("transfer_timeout", "The transfer was not confirmed in time", "cancelled"),
}


def _message(status: int, text: str) -> Response:
    return json_response(status, {"message": text})


def _bad(name: str, text: str) -> Response:
    return json_response(400, error("body", name, text))


def _gone() -> Response:
    return json_response(404, {"message": "The resource could not be found."})


@dataclass
class Transfer:
    fqdn: str
    email: str
    duration: int
    started: float
    created: datetime
    scenario: str | None  # "refused", "timeout", "nofoa" or None (completes)
    code_ok: bool
    done_at: float | None = None  # when the domain shows in the account

    def failure(self, now: float, delay: float) -> str | None:
        if not self.code_ok:
            return "badcode"
        if self.scenario in ("refused", "timeout") and now >= self.started + delay:
            return self.scenario
        return None


class TransferEndpoints:
    """The transfer-in half of :class:`sandbox.gandi_day2.Day2Endpoints` (a mixin over its state)."""

    provider: GandiProvider
    store: DomainStore
    transfers: dict[str, Transfer]

    @property
    def config(self) -> dict[str, Any]:
        return self.provider.config

    def pending_transfer(self, fqdn: str, now: float) -> bool:
        t = self.transfers.get(fqdn)
        return t is not None and t.done_at is not None and now < t.done_at + self._pending_delay

    def transfer_times(self, fqdn: str) -> dict[str, float] | None:
        """When the transfer of ``fqdn`` started and completes (unix times), if one will complete."""
        t = self.transfers.get(fqdn)
        if t is None or t.done_at is None:
            return None
        return {"started_at": t.started, "completed_at": t.done_at + self._pending_delay}

    @property
    def _pending_delay(self) -> float:
        return float(self.config["pending_transfer_delay"])

    # -- transfer-in
    def _transfer_check(self, req: Request, fqdn: str) -> Response:
        """``POST /domain/transferin/{fqdn}/available`` (gem lib/gandi_v5/domain/transfer_in/availability.rb:
        fields available, corporate, internal, minimum/maximum_duration, durations, msg, fqdn_ulabel)."""
        body = req.json() or {}
        code = body.get("authinfo") if isinstance(body, dict) else None
        if not is_valid_fqdn(fqdn):
            return _bad("fqdn", f"Invalid domain name {fqdn!r}")
        answer: dict[str, Any] = {"fqdn": fqdn, "fqdn_ulabel": fqdn, "corporate": False, "internal": False}
        why = self._not_transferable(fqdn, code)
        if why:
            return json_response(200, {**answer, "available": False, "msg": why})
        durations = list(range(1, 11))
        return json_response(
            200,
            {
                **answer,
                "available": True,
                "durations": durations,
                "minimum_duration": 1,
                "maximum_duration": 10,
            },
        )

    def _not_transferable(self, fqdn: str, code: Any) -> str | None:
        """Assumption: the wording of every ``msg`` (the gem only says it explains why)."""
        dom = self.store.domains.get(fqdn)
        running = self.transfers.get(fqdn)
        arrived = running is None or (running.done_at is not None and time.time() >= running.done_at)
        if dom is not None and dom.owner == "us" and arrived:
            return "The domain is already in your account."
        if running is not None and running.failure(time.time(), self._delay) is None:
            return "A transfer of this domain is already in progress."
        if fqdn.split(".", 1)[0].startswith("xfer-locked-"):
            return "The domain is locked at its current registrar (clientTransferProhibited)."
        if isinstance(code, str) and code.lower().startswith("bad"):
            return "The authorization code is not valid."
        return None

    @property
    def _delay(self) -> float:
        return float(self.config["transfer_delay"])

    def _transfer_start(self, req: Request) -> Response:
        """``POST /domain/transferin``: the create's body plus ``authinfo`` (whmcs_Gandi-module
        modules/registrars/gandiv5/lib/ApiClient.php transferDomain; gem transfer_in.rb create: 202 and a
        message); ``admin``/``bill``/``tech`` are checked like the create's contacts (:func:`validate_create`)
        and kept on the domain (a role not given takes the owner, as a create does). Assumption: a refused
        one answers 409 like a taken create."""
        body = req.json()
        errors = validate_create(body)
        code = body.get("authinfo") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            errors.append(error("body", "authinfo", "Field required")["errors"][0])
        if errors:
            return json_response(400, {"status": "error", "errors": errors})
        fqdn = normalize_fqdn(body["fqdn"])
        label = fqdn.split(".", 1)[0]
        with self.store.lock:
            why = self._not_transferable(fqdn, None)
            if why:
                return json_response(409, {"code": 409, "message": why, "object": "HTTPConflict"})
            scenario = next(
                (s for s in ("refused", "timeout", "nofoa") if label.startswith(f"xfer-{s}-")), None
            )
            t = Transfer(
                fqdn,
                str(body["owner"]["email"]),
                int(body.get("duration") or 1),
                time.time(),
                utcnow(),
                scenario,
                not str(code).lower().startswith("bad"),
            )
            self.transfers[fqdn] = t
            self._arrange(t, body)
            self.provider.stats.effect(fqdn, "transfer")
        return _message(202, "The transfer is being processed.")

    def _arrange(self, t: Transfer, body: dict[str, Any] | None = None) -> None:
        """A transfer that will complete: the domain joins the account (hidden until ``done_at``)."""
        if not t.code_ok or t.scenario is not None:
            return
        t.started = time.time()
        t.done_at = t.started + self._delay
        dom = self.store.domains.get(t.fqdn)
        now = utcnow()
        base = dom.ends_at if dom is not None else now + timedelta(days=100)
        if dom is None:
            dom = Domain(t.fqdn, "us", now - timedelta(days=400), base, list(self.store.default_nameservers))
            self.store.domains[t.fqdn] = dom
        if body is not None:  # the start's contacts (a relaunch with a new code keeps them)
            owner = body.get("owner") or {}
            dom.contacts = {role: body.get(role) or owner for role in ROLES}
        dom.owner, dom.visible_at = "us", t.done_at
        dom.ends_at, dom.updated_at = add_years(base, t.duration), now

    def _transfer_info(self, req: Request, fqdn: str) -> Response:
        """``GET /domain/transferin/{fqdn}`` (gem transfer_in.rb fetch: step, step_nb, inner_step,
        errortype, errortype_label, foa [{email, answer}], params {domain, duration}, regac_at, start_at,
        transfer_procedure, created_at, updated_at). Assumption: every value of step and the rest."""
        t = self.transfers.get(fqdn)
        now = time.time()
        if t is None:
            return _gone()
        failure = t.failure(now, self._delay)
        done = t.done_at is not None and now >= t.done_at + self._pending_delay
        if done and self.config["transfer_record_after_done"] == "gone":
            return _gone()
        step, step_nb = ("waiting_foa", 2) if t.scenario == "nofoa" else ("waiting_registry", 3)
        if not t.code_ok:
            step, step_nb = "check_authinfo", 1
        if done:
            step, step_nb = "done", 4
        out: dict[str, Any] = {
            "fqdn": fqdn,
            "step": step,
            "step_nb": step_nb,
            "inner_step": None,
            "errortype": None,
            "errortype_label": None,
            "transfer_procedure": "foa",
            "foa": [{"email": t.email, "answer": "pending" if t.scenario == "nofoa" else "yes"}],
            "params": {"domain": fqdn, "duration": t.duration},
            "created_at": iso_z(t.created),
            "start_at": iso_z(t.created),
            "updated_at": iso_z(utcnow()),
        }
        if failure is not None:
            kind, label, word = FAILURES[failure]
            if self.config["transfer_failure_report"] == "errortype":
                out.update(errortype=kind, errortype_label=label)
            else:
                out.update(step=word, inner_step=kind.split("_", 1)[-1])
        return json_response(200, out)

    def _transfer_foa(self, req: Request, fqdn: str) -> Response:
        """``POST /domain/transferin/{fqdn}/foa`` ``{"email"}`` (gem transfer_in.rb resend_foa_emails).
        Assumption: the 200 and its message, and 400 for an address not in the transfer's ``foa``."""
        t = self.transfers.get(fqdn)
        if t is None:
            return _gone()
        body = req.json()
        if not isinstance(body, dict) or body.get("email") != t.email:
            return _bad("email", "Not an e-mail address of this transfer's FOA")
        return _message(200, "The FOA e-mail has been sent again.")

    def _transfer_authinfo(self, req: Request, fqdn: str) -> Response:
        """``PUT /domain/transferin/{fqdn}/authinfo`` ``{"authinfo"}`` (Gandi's endpoint list). Assumption:
        a good code relaunches the transfer (the gem has a separate ``PUT /domain/transferin/{fqdn}``)."""
        t = self.transfers.get(fqdn)
        if t is None:
            return _gone()
        body = req.json()
        code = body.get("authinfo") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code:
            return _bad("authinfo", "Field required")
        t.code_ok = not code.lower().startswith("bad")
        self._arrange(t)
        return _message(202, "The authorization code has been updated.")
