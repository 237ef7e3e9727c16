"""ROTLD REST API 2.0 stand-in: one endpoint, ``POST /``, form-urlencoded, HTTP Digest auth.

Every answer with HTTP 200 is the envelope ``{"error": 0|1, "result_code", "result_message", "data"}``.
HTTP 401 (with ``WWW-Authenticate: Digest ...``) for bad credentials, 405 for a method other than POST,
404 for a path other than ``/``; faults may give other statuses, with a non-envelope HTML body.

Result codes:

* ``00200`` success
* ``10001`` missing required parameter (``data.parameter`` names it; also a missing ``command``)
* ``10002`` unknown command
* ``10003`` invalid parameter value (``domain_period`` not 1..10, ``reservation`` not 0|1)
* ``10501`` invalid nameserver hostname (domain-reset-ns, domain-register)
* ``10502`` in-zone nameserver of the same domain without glue
* ``50002`` invalid domain name (not a registrable .ro name)
* ``50006`` contact not found (contact-info, domain-register ``c_registrant``)
* ``50014`` bad domain password (not 6-40 characters with an upper, a lower and a digit)
* ``50102``/``50106``/``50122``/``50125``/``50129``/``50137`` contact validation: see
  :mod:`sandbox.rotld_contacts`
* ``50300`` domain not available (already registered, by us or someone else); the code is our guess (no
  public source gives it): config ``register_taken_code`` changes it, so tests can show the gateway does
  not depend on it (it asks check-availability first)
* ``50002`` also answers renew, info, reset-ns and check-renewal-availability for a domain that is not in
  this registrar's account, as the independent stand-in of issue 8 does and as the reference lists 50002
  ("invalid domain"); config ``not_ours_code`` picks another (``50301``, our earlier guess, or ``10002``,
  assumed to mean "no longer ours" from domain-info: no public client names it, see
  :mod:`shared.gateways.rotld_codes`)

Glue: ``nameserver-create`` (``nameserver``, ``ips`` comma-separated, 1-2 addresses) records the addresses
of a host inside one of our domains; ``domain-reset-ns`` then accepts that in-zone host, and answers 10502
without it. The day-2 commands (domain-transfer, nameserver-create/update/delete/info, contact-update,
domain-reset-ns with its limits) live in :mod:`sandbox.rotld_day2`, each with its source.

Stats operation names are the command names (``unknown`` when missing or unknown). Effects:
``create`` (domain-register), ``renew`` (domain-renew), ``nameservers`` (domain-reset-ns).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from sandbox.digest import DigestAuthority
from sandbox.domains import Domain, DomainStore, add_years, is_valid_fqdn, normalize_fqdn, utcnow
from sandbox.httpbase import BadRequestBody, Provider, Request, Response, json_response, text_response
from sandbox.rotld_contacts import validate_contact
from sandbox.rotld_day2 import DAY2_CONFIG, Day2Commands
from sandbox.rotld_errors import RotldError, envelope, error_envelope, require
from sandbox.stats import Stats

DEFAULT_NAMESERVERS = ["ns1.sandbox.rotld.ro", "ns2.sandbox.rotld.ro"]
SECOND_LEVEL = frozenset(
    "com org info www nom nt rec firm store tm arts".split()  # registrable under as x.<sld>.ro
)
PRICE_PER_YEAR = 45.0
FIRST_CID = 614082
PASSWORD_RE = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{6,40}$")


def ro_domain(form: dict[str, str]) -> str:
    """The normalized ``domain`` parameter, or raise 10001 / 50002."""
    require(form, "domain")
    name = normalize_fqdn(form["domain"])
    labels = name.split(".")
    ok = is_valid_fqdn(name) and labels[-1] == "ro"
    if ok and len(labels) == 2:
        ok = labels[0] not in SECOND_LEVEL
    elif ok:
        ok = len(labels) == 3 and labels[1] in SECOND_LEVEL
    if not ok:
        raise RotldError("50002", f"Invalid domain name: {form['domain']}")
    return name


def period(form: dict[str, str]) -> int:
    require(form, "domain_period")
    raw = form["domain_period"].strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 10:
        raise RotldError("10003", "Invalid domain_period (1..10)", {"parameter": "domain_period"})
    return int(raw)


def nameserver_list(raw: str, domain: str, glue: dict[str, list[str]] | None = None) -> list[str]:
    hosts = [normalize_fqdn(h) for h in raw.split(",") if h.strip()]
    for host in hosts:
        if not is_valid_fqdn(host):
            raise RotldError("10501", f"Invalid nameserver: {host}")
        if (host == domain or host.endswith("." + domain)) and host not in (glue or {}):
            raise RotldError("10502", f"Nameserver {host} is in-zone and has no glue record")
    return hosts


class RotldProvider(Provider):
    name = "rotld"
    default_config: dict[str, Any] = {
        "not_ours_code": "50002",
        "register_taken_code": "50300",
        # {command: [code, message]}: answer that command with this error envelope. Not a behaviour of
        # the registry but a test knob: the envelope shape is the reference's ("error": 1, result_code,
        # result_message); the codes a test injects are deliberately ones no public source lists, to show
        # the gateway treats an unknown code as a final business error (issue 8, point 2).
        "command_errors": {},
        # After domain-renew, domain-info keeps showing the old expiry this long. Source: issue 8, point 5
        # (a registry that lags after accepting a renewal, seen with billing-system syncs in the
        # reference's "Known failures" list); no public ROTLD document gives a lag, so the default is 0.
        "renew_lag_seconds": 0.0,
        **DAY2_CONFIG,  # transfers, glue hosts, contact-update, reset-ns: see sandbox.rotld_day2
    }

    def __init__(
        self,
        stats: Stats,
        username: str,
        password: str,
        realm: str = "rest2.rotld.ro",
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(stats, config)
        self.digest = DigestAuthority(realm, username, password)
        self.store = DomainStore(DEFAULT_NAMESERVERS)
        self.contacts: dict[str, dict[str, str]] = {}
        self.glue: dict[str, list[str]] = {}
        self.lagging: dict[str, tuple[Any, float]] = {}  # domain -> (expiry still shown, shown until)
        self._cids = itertools.count(FIRST_CID)
        self.balance = 0.0
        self.commands: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "hello": self._hello,
            "check-availability": self._check_availability,
            "check-renewal-availability": self._check_renewal,
            "check-balance": self._check_balance,
            "contact-create": self._contact_create,
            "contact-info": self._contact_info,
            "domain-register": self._domain_register,
            "domain-renew": self._domain_renew,
            "domain-info": self._domain_info,
        }  # + domain-transfer, domain-reset-ns, nameserver-*, contact-update: sandbox.rotld_day2
        self.day2 = Day2Commands(self, ro_domain, nameserver_list)
        self.day2.install(self.commands)
        stats.declare_operations(tuple(self.commands))
        self.reset_state()

    # -- Provider interface
    def authenticate(self, req: Request) -> Response | None:
        verdict = self.digest.verify(req.method, req.target, req.headers.get("Authorization"))
        if verdict == "ok":
            return None
        challenge = self.digest.challenge(stale=verdict == "stale")
        return text_response(401, "401 Unauthorized", {"WWW-Authenticate": challenge})

    def operation(self, req: Request) -> str:
        if req.method != "POST":
            return "unknown"
        try:
            command = req.form().get("command", "")
        except BadRequestBody:
            return "unknown"
        return command if command in self.commands else "unknown"

    def fault_response(self, status: int) -> Response:
        # Source: the public clients read any non-200 but 401 as "Service not available." (ApiClient.php in
        # agilegeeks/rotld-sdk-php and in hangarhosting/whmcs-rotld); assumption, not
        # documented: that the body is the web server's HTML error page rather than the JSON envelope
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body = f"<html><head><title>{status} {phrase}</title></head><body><h1>{phrase}</h1></body></html>"
        return Response(status, body.encode(), "text/html; charset=utf-8")

    def reset_state(self) -> None:
        with self.store.lock:
            self.store.clear()
            self.contacts.clear()
            self.glue.clear()
            self.lagging.clear()
            self.day2.clear()
            self.balance = 100_000.0

    def seed(self, entries: Any) -> list[str]:
        return self.store.seed(entries)

    def list_domains(self) -> list[dict[str, Any]]:
        return self.store.listing()

    def handle(self, req: Request) -> Response:
        if req.method != "POST":
            return text_response(405, "405 Method Not Allowed", {"Allow": "POST"})
        if req.path not in ("", "/"):
            return text_response(404, "404 Not Found")
        try:
            form = req.form()
            require(form, "command")
            command = self.commands.get(form["command"].strip())
            if command is None:
                raise RotldError("10002", f"Unknown command: {form['command']}")
            injected = (self.config.get("command_errors") or {}).get(form["command"].strip())
            if injected:
                raise RotldError(str(injected[0]), str(injected[1]))
            return json_response(200, envelope(command(form)))
        except BadRequestBody as exc:
            return json_response(200, error_envelope(RotldError("10003", str(exc))))
        except RotldError as exc:
            return json_response(200, error_envelope(exc))

    # -- commands (each returns the envelope's data or raises RotldError)
    def _ours(self, domain: str) -> Domain:
        dom = self.store.get_ours(domain)
        if dom is None:
            raise RotldError(str(self.config["not_ours_code"]), f"Invalid domain: {domain}")
        return dom

    def _hello(self, form: dict[str, str]) -> dict[str, Any]:
        return {"message": "Hello from the ROTLD sandbox", "server_time": utcnow().isoformat()}

    def _check_availability(self, form: dict[str, str]) -> dict[str, Any]:
        domain = ro_domain(form)
        with self.store.lock:
            taken = domain in self.store.domains
        return {"domain": domain, "status": "Not Available" if taken else "Available"}

    def _check_renewal(self, form: dict[str, str]) -> dict[str, Any]:
        domain = ro_domain(form)
        with self.store.lock:
            dom = self._ours(domain)
            return {"domain": domain, "renewable": 1, "expiration_date": dom.ends_at.date().isoformat()}

    def _check_balance(self, form: dict[str, str]) -> dict[str, Any]:
        with self.store.lock:
            return {"balance": round(self.balance, 2), "currency": "RON"}

    def _contact_create(self, form: dict[str, str]) -> dict[str, Any]:
        contact = validate_contact(form)
        with self.store.lock:
            cid = f"C{next(self._cids)}"
            self.contacts[cid] = contact
        return {"cid": cid}

    def _contact_info(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, "cid")
        cid = form["cid"].strip().upper()
        with self.store.lock:
            contact = self.contacts.get(cid)
        if contact is None:
            raise RotldError("50006", f"Contact {cid} not found")
        return {"cid": cid, **contact}

    def _domain_register(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, "domain", "c_registrant", "domain_period", "domain_password")
        domain = ro_domain(form)
        years = period(form)
        if not PASSWORD_RE.match(form["domain_password"]):
            raise RotldError("50014", "Invalid domain_password (6-40 chars with upper, lower and a digit)")
        if form.get("reservation", "0").strip() not in ("0", "1"):
            raise RotldError("10003", "Invalid reservation (0|1)", {"parameter": "reservation"})
        hosts = nameserver_list(form.get("nameservers", ""), domain) or list(DEFAULT_NAMESERVERS)
        cid = form["c_registrant"].strip().upper()
        now = utcnow()
        with self.store.lock:
            if cid not in self.contacts:
                raise RotldError("50006", f"Contact {cid} not found")
            if domain in self.store.domains:
                code = str(self.config["register_taken_code"])
                raise RotldError(code, f"Domain {domain} is not available")
            dom = Domain(domain, "us", now, add_years(now, years), hosts, registrant_id=cid)
            dom.authinfo = form["domain_password"]
            self.store.domains[domain] = dom
            self.balance -= PRICE_PER_YEAR * years
            self.stats.effect(domain, "create")
        return {"domain": domain}

    def _domain_renew(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, "domain", "domain_period")
        domain = ro_domain(form)
        years = period(form)
        with self.store.lock:
            dom = self._ours(domain)
            lag = float(self.config.get("renew_lag_seconds") or 0.0)
            if lag > 0:
                self.lagging[domain] = (dom.ends_at, time.monotonic() + lag)
            dom.ends_at = add_years(dom.ends_at, years)
            dom.updated_at = utcnow()
            self.balance -= PRICE_PER_YEAR * years
            self.stats.effect(domain, "renew")
        return {"domain": domain}

    def _domain_info(self, form: dict[str, str]) -> dict[str, Any]:
        domain = ro_domain(form)
        with self.store.lock:
            dom = self._ours(domain)
            shown, until = self.lagging.get(domain, (dom.ends_at, 0.0))
            if time.monotonic() >= until:
                shown = dom.ends_at
            return {
                "domain": domain,
                "registration_date": dom.created_at.date().isoformat(),
                "expiration_date": shown.date().isoformat(),
                "statuses": ["OK"],
                "nameservers": list(dom.nameservers),
                "registrant_id": dom.registrant_id,
            }
