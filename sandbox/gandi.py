"""Gandi API v5 stand-in (base path ``/v5``): check, create, info, renew, renew info, nameservers.

Operation names (stats and fault rules): ``check``, ``create``, ``list``, ``info``, ``renew``,
``renew_info``, ``nameservers``, ``nameservers_info``, ``tlds``, ``tld``, ``unknown``.
The day-2 endpoints (transfer-in, lock, auto-renew, auth code, contacts, glue hosts) and their operation
names and config switches: :mod:`sandbox.gandi_day2`.

``GET /domain/tlds`` lists the TLDs for sale: by default the list regq ships as its snapshot
(``shared/tlds/snapshot/gandi.json``), so a refresh against the sandbox changes nothing; a test in the
same process sets ``provider.tlds`` (``{"gTLD": [...], "ccTLD": [...]}``) to sell another list (a reset
restores the default).

Deterministic check answers by the first label's prefix: ``pending-`` -> pending, ``timeout-`` ->
error_timeout, ``premium-`` -> unavailable_premium (create then needs ``"enforce_premium": true``),
``invalid-`` -> error_invalid (create answers 400).
"""

from __future__ import annotations

import hmac
import json
import time
from datetime import timedelta
from functools import lru_cache
from http import HTTPStatus
from importlib import resources
from typing import Any

from sandbox import gandi_day2
from sandbox.domains import (
    Domain,
    DomainStore,
    add_years,
    is_valid_fqdn,
    iso_z,
    normalize_fqdn,
    to_unicode,
    utcnow,
)
from sandbox.gandi_validation import error, validate_create, validate_duration, validate_nameservers
from sandbox.httpbase import BadRequestBody, Provider, Request, Response, json_response
from sandbox.stats import Stats

PREFIX = "/v5"
DEFAULT_NAMESERVERS = ["ns1.sandbox.gandi.net", "ns2.sandbox.gandi.net", "ns3.sandbox.gandi.net"]
PRICES = {"com": 13.0, "net": 15.0, "org": 14.5, "eu": 9.0, "info": 16.0}
VAT_RATE = 20
SPECIAL_STATUS = {
    "pending-": "pending",
    "timeout-": "error_timeout",
    "premium-": "unavailable_premium",
    "invalid-": "error_invalid",
}
ROUTES = {
    ("GET", "check"): "check",
    ("POST", "domains"): "create",
    ("GET", "domains"): "list",
    ("GET", "domain"): "info",
    ("POST", "renew"): "renew",
    ("GET", "renew"): "renew_info",
    ("PUT", "nameservers"): "nameservers",
    ("GET", "nameservers"): "nameservers_info",
    ("GET", "tlds"): "tlds",
    ("GET", "tld"): "tld",
}


#: The categories of ``GET /domain/tlds`` (its ``category`` parameter: "One of: ccTLD, gTLD"; the docs).
TLD_CATEGORIES = ("gTLD", "ccTLD")


@lru_cache(maxsize=1)
def snapshot_tlds() -> dict[str, list[str]]:
    """The TLD list regq ships (``shared/tlds/snapshot/gandi.json``), read as data: by default the stand-in
    sells what regq's snapshot says Gandi sells (assumption: regq's own list echoed back, not a check of
    Gandi's live one)."""
    raw = resources.files("shared.tlds.snapshot").joinpath("gandi.json").read_text("utf-8")
    categories = json.loads(raw)["categories"]
    return {c: list(categories.get(c, [])) for c in TLD_CATEGORIES}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Gandi's usual error shape: ``{"code", "message", "object": "HTTPNotFound", "cause": "Not Found"}``
    (source: the error body of https://api.gandi.net/docs/livedns/ as public Gandi clients quote it beside
    that link; that the domain API answers the same shape is an assumption, not documented)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    obj = "HTTP" + "".join(w.capitalize() for w in phrase.replace("-", " ").split())
    return {"code": status, "message": message or phrase, "object": obj, "cause": phrase}


def not_found() -> Response:
    return json_response(404, error_body(404, "The resource could not be found."))


def special_status(fqdn: str) -> str | None:
    label = fqdn.split(".", 1)[0]
    for prefix, status in SPECIAL_STATUS.items():
        if label.startswith(prefix):
            return status
    return None


def _route(path: str) -> tuple[str, str | None]:
    """(route key, fqdn) for a path under /v5; ("", None) when unknown."""
    if not path.startswith(PREFIX + "/"):
        return "", None
    parts = path[len(PREFIX) + 1 :].rstrip("/").split("/")
    if parts == ["domain", "check"]:
        return "check", None
    if parts[:2] == ["domain", "tlds"] and len(parts) <= 3:
        return ("tld", parts[2].lower()) if len(parts) == 3 else ("tlds", None)
    if parts[:2] != ["domain", "domains"]:
        return "", None
    if len(parts) == 2:
        return "domains", None
    fqdn = normalize_fqdn(parts[2])
    if len(parts) == 3:
        return "domain", fqdn
    if len(parts) == 4 and parts[3] in ("renew", "nameservers", "hosts"):
        return parts[3], fqdn
    return "", None


class GandiProvider(Provider):
    name = "gandi"
    default_config: dict[str, Any] = {"visibility_delay": 0.3, "create_status": 202, **gandi_day2.CONFIG}

    def __init__(self, stats: Stats, token: str, config: dict[str, Any] | None = None) -> None:
        super().__init__(stats, config)
        self._token = token
        self.store = DomainStore(DEFAULT_NAMESERVERS)
        self.tlds: dict[str, list[str]] | None = None  # GET /domain/tlds: None = regq's snapshot
        self.day2 = gandi_day2.Day2Endpoints(self)  # transfer-in, lock, auth code, contacts, glue hosts
        stats.declare_operations(
            ("check", "create", "info", "renew", "renew_info", "nameservers", *gandi_day2.OPERATIONS)
        )

    def validate_config(self, config: dict[str, Any]) -> None:
        super().validate_config(config)
        delay = config["visibility_delay"]
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise ValueError("visibility_delay must be a number >= 0")
        if config["create_status"] not in (201, 202):
            raise ValueError("create_status must be 201 or 202")
        gandi_day2.validate_config(config)

    # -- Provider interface
    def authenticate(self, req: Request) -> Response | None:
        scheme, _, credential = (req.headers.get("Authorization") or "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() in ("bearer", "apikey") and credential:
            if hmac.compare_digest(credential.encode(), self._token.encode()):
                return None
        return json_response(
            401,
            {"code": 401, "message": "Unauthorized", "object": "HTTPUnauthorized", "cause": "Unauthorized"},
            {"WWW-Authenticate": 'Bearer realm="gandi"'},
        )

    def operation(self, req: Request) -> str:
        if day2 := self.day2.operation(req):
            return day2
        key, _ = _route(req.path)
        return ROUTES.get((req.method, key), "unknown")

    def fault_response(self, status: int) -> Response:
        return json_response(status, error_body(status))

    def reset_state(self) -> None:
        self.store.clear()
        self.tlds = None
        self.day2.reset()

    def seed(self, entries: Any) -> list[str]:
        return self.store.seed(entries)

    def list_domains(self) -> list[dict[str, Any]]:
        listing = self.store.listing()
        with self.store.lock:
            for entry in listing:
                if (times := self.day2.transfer_times(entry["fqdn"])) is not None:
                    entry["transfer"] = times
        return listing

    def handle(self, req: Request) -> Response:
        try:
            answer = self.day2.handle(req)
        except BadRequestBody as exc:
            return json_response(400, error_body(400, str(exc)))
        if answer is not None:
            return answer
        key, fqdn = _route(req.path)
        operation = ROUTES.get((req.method, key))
        if operation is None:
            if any(k == key for _, k in ROUTES):
                return json_response(405, error_body(405))
            return not_found()
        try:
            if operation == "tlds":
                return self._tlds(req)
            if fqdn is None:
                return self._check(req) if operation == "check" else self._create_or_list(req, operation)
            return getattr(self, "_" + operation)(req, fqdn)
        except BadRequestBody as exc:
            return json_response(400, error_body(400, str(exc)))

    # -- endpoints
    def _check(self, req: Request) -> Response:
        raw = req.query.get("name", "")
        if not raw:
            return json_response(400, error("querystring", "name", "Missing parameter: name"))
        fqdn = normalize_fqdn(raw)
        status = special_status(fqdn)
        if not is_valid_fqdn(fqdn):
            status = "error_invalid"
        if status is None:
            with self.store.lock:
                taken = fqdn in self.store.domains
            status = "unavailable" if taken else "available"
        before = 500.0 if status == "unavailable_premium" else PRICES.get(fqdn.rsplit(".", 1)[-1], 20.0)
        price = {
            "duration_unit": "y",
            "min_duration": 1,
            "max_duration": 10,
            "price_before_taxes": before,
            "price_after_taxes": round(before * (1 + VAT_RATE / 100), 2),
            "discount": False,
            "normal_price_before_taxes": before,
        }
        product = {"name": fqdn, "process": "create", "status": status, "taxable": True, "prices": [price]}
        return json_response(
            200,
            {
                "currency": "EUR",
                "grid": "A",
                "products": [product],
                "taxes": [{"type": "service", "rate": VAT_RATE, "name": "vat"}],
            },
        )

    def _create_or_list(self, req: Request, operation: str) -> Response:
        if operation == "list":
            with self.store.lock:
                doms = [d for d in self.store.domains.values() if d.owner == "us"]
            moment = time.time()
            return json_response(200, [self._summary(d) for d in doms if moment >= d.visible_at])
        body = req.json()
        errors = validate_create(body)
        if errors:
            return json_response(400, {"status": "error", "errors": errors})
        if _dry_run(req):
            return json_response(200, {"status": "success"})
        fqdn = normalize_fqdn(body["fqdn"])
        now = utcnow()
        contacts = {role: body.get(role) or body["owner"] for role in ("owner", "admin", "bill", "tech")}
        with self.store.lock:
            if fqdn in self.store.domains:
                return json_response(409, error_body(409, f"The domain {fqdn} is not available."))
            self.store.domains[fqdn] = Domain(
                fqdn=fqdn,
                owner="us",
                created_at=now,
                ends_at=add_years(now, int(body.get("duration", 1))),
                nameservers=list(body.get("nameservers") or DEFAULT_NAMESERVERS),
                visible_at=time.time() + float(self.config["visibility_delay"]),
                contacts=contacts,
            )
            self.stats.effect(fqdn, "create")
        location = {"Location": f"{PREFIX}/domain/domains/{fqdn}"}
        if self.config["create_status"] == 201:
            return json_response(201, {"message": "Domain Created."}, location)
        return json_response(202, {"message": "Domain creation pending."}, location)

    def _info(self, req: Request, fqdn: str) -> Response:
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return not_found()
        with self.store.lock:
            return json_response(200, self._detail(dom))

    def _renew(self, req: Request, fqdn: str) -> Response:
        body = req.json()
        duration = body.get("duration") if isinstance(body, dict) else None
        problem = validate_duration(duration, required=True)
        if problem:
            return json_response(400, error("body", "duration", problem))
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return not_found()
        if _dry_run(req):
            return json_response(200, {"status": "success"})
        with self.store.lock:
            dom.ends_at = add_years(dom.ends_at, int(duration))  # type: ignore[arg-type]
            dom.updated_at = utcnow()
            self.stats.effect(fqdn, "renew")
        return json_response(200, {"message": "Domain renewed."})

    def _renew_info(self, req: Request, fqdn: str) -> Response:
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return not_found()
        with self.store.lock:
            info = {
                "begins_at": iso_z(dom.created_at),
                "ends_at": iso_z(dom.ends_at),
                "durations": list(range(1, 11)),
                "prohibited": False,
                "contracts": [],
            }
        return json_response(200, info)

    def _nameservers(self, req: Request, fqdn: str) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            return json_response(
                400, error("body", "nameservers", "Expected an object {'nameservers': [...]}")
            )
        problem = validate_nameservers(body.get("nameservers"), required=True)
        if problem:
            return json_response(400, error("body", "nameservers", problem))
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return not_found()
        hosts = [normalize_fqdn(n) for n in body["nameservers"]]
        for (
            host
        ) in hosts:  # an in-zone nameserver needs its glue record first (DNS delegation, RFC 1034 4.2.1)
            if host.endswith("." + fqdn) and host.removesuffix("." + fqdn) not in dom.glue:
                return json_response(400, error("body", "nameservers", f"{host} has no glue record"))
        if _dry_run(req):
            return json_response(200, {"status": "success"})
        with self.store.lock:
            dom.nameservers = hosts
            dom.updated_at = utcnow()
            self.stats.effect(fqdn, "nameservers")
        return json_response(202, {"message": "Nameservers updated."})

    def _nameservers_info(self, req: Request, fqdn: str) -> Response:
        dom = self.store.get_ours(fqdn)
        if dom is None:
            return not_found()
        with self.store.lock:
            return json_response(200, list(dom.nameservers))

    def _tld_listing(self) -> dict[str, list[str]]:
        return self.tlds if self.tlds is not None else snapshot_tlds()

    def _tlds(self, req: Request) -> Response:
        """``GET /domain/tlds``: a JSON array of ``{"name", "href"}``, filtered by ``category`` (``gTLD`` or
        ``ccTLD``), paged by ``page`` (from 1; past the last page ``[]``) and ``per_page``, with headers
        ``Total-Count`` and ``Filtered-Count``. Source: https://api.gandi.net/docs/domains/ ("List available
        TLD extensions"). Assumptions (not documented): without ``per_page``, every name in one page; a bad
        ``category``, ``page`` or ``per_page`` answers the usual 400 validation body."""
        category = req.query.get("category")
        if category is not None and category not in TLD_CATEGORIES:
            return json_response(400, error("querystring", "category", 'One of: "ccTLD", "gTLD"'))
        listing = self._tld_listing()
        names = [n for c in TLD_CATEGORIES if category in (None, c) for n in listing.get(c, [])]
        try:
            page = int(req.query.get("page") or 1)
            per_page = int(req.query.get("per_page") or max(len(names), 1))
        except ValueError:
            return json_response(400, error("querystring", "page", "page and per_page are integers"))
        if page < 1 or per_page < 1:
            return json_response(400, error("querystring", "page", "Minimum: 1"))
        chunk = names[(page - 1) * per_page : page * per_page]
        base = f"http://{req.headers.get('Host') or 'localhost'}{PREFIX}/domain/tlds"
        headers = {"Total-Count": str(len(names)), "Filtered-Count": str(len(chunk))}
        return json_response(200, [{"name": n, "href": f"{base}/{n}"} for n in chunk], headers)

    def _tld(self, req: Request, name: str) -> Response:
        """``GET /domain/tlds/{name}``: the fields of the documented .eu example (name, category, lock,
        change_owner, authinfo_for_transfer, full_tld, corporate, ext_trade, href; the same page). Every TLD
        answering that example's flags is an assumption: Gandi's differ per TLD."""
        listing = self._tld_listing()
        category = next((c for c in TLD_CATEGORIES if name in listing.get(c, [])), None)
        if category is None:
            return not_found()
        detail = {
            "category": category,
            "name": name,
            "lock": False,
            "change_owner": True,
            "authinfo_for_transfer": True,
            "full_tld": name,
            "corporate": False,
            "ext_trade": True,
            "href": f"http://{req.headers.get('Host') or 'localhost'}{PREFIX}/domain/tlds/{name}",
        }
        return json_response(200, detail)

    # -- representations
    @staticmethod
    def _summary(dom: Domain) -> dict[str, Any]:
        return {
            "fqdn": dom.fqdn,
            "fqdn_unicode": to_unicode(dom.fqdn),
            "id": dom.id,
            "tld": dom.fqdn.rsplit(".", 1)[-1],
            "status": ["clientTransferProhibited"],
            "autorenew": False,
            "dates": {"registry_created_at": iso_z(dom.created_at), "registry_ends_at": iso_z(dom.ends_at)},
        }

    def _detail(self, dom: Domain) -> dict[str, Any]:
        out = self._summary(dom)
        out.update(
            {
                "authinfo": dom.authinfo,
                "nameservers": list(dom.nameservers),
                "contacts": dom.contacts,
                "dates": {
                    "registry_created_at": iso_z(dom.created_at),
                    "registry_ends_at": iso_z(dom.ends_at),
                    "renew_begins_at": iso_z(dom.created_at),
                    "hold_begins_at": iso_z(dom.ends_at),
                    "hold_ends_at": iso_z(dom.ends_at + timedelta(days=45)),
                    "deletes_at": iso_z(dom.ends_at + timedelta(days=75)),
                    "created_at": iso_z(dom.created_at),
                    "updated_at": iso_z(dom.updated_at),
                },
            }
        )
        self.day2.decorate(dom, out)
        return out


def _dry_run(req: Request) -> bool:
    return (req.headers.get("Dry-Run") or "").strip().lower() in ("1", "true", "yes")
