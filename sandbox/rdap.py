"""RDAP stand-in: a registry, a registrar and a RIR on one server, serving real answers
(``sandbox/data/rdap/``, sources in its SOURCES.md), plus an IANA-style bootstrap pointing at itself.

Paths (RFC 7482 3.1 query paths under a base URL) and operation names (stats and fault rules):

* ``GET /registry/domain/<name>``  -> ``registry_domain``: the registry's answer. A thin registry's
  answer (Verisign's google.com, themarquetry.com, whoisit__domain1/3.json) keeps its ``related`` link of
  type ``application/rdap+json``, rewritten to this server's registrar role;
* ``GET /registrar/domain/<name>`` -> ``registrar_domain``: the registrar's answer, holding the registrant;
* ``GET /rir/ip/<address>``        -> ``ip``: the most specific network holding the address;
* ``GET /bootstrap/{dns,ipv4,ipv6}.json`` -> ``bootstrap``: RFC 9224 registries naming this server, with
  ``Cache-Control: max-age=<bootstrap_max_age>`` as IANA sends it (max-age=86400 in the
  data.iana.org answers recorded in meeb/whoisit tests/responses/boostrap.yaml);
* anything else -> ``unknown``, a 404 error body.

A name or address it does not hold gets 404 with an RFC 9083 section 6 error body (RFC 7480 5.3); a name
registered at a registrar stand-in is answered as its registry would (``registered``, built by
:mod:`sandbox.registry`), and the bootstrap sends those TLDs here too (``tlds``).
:func:`write_bootstrap` writes the three bootstrap files for a directory, so
``REGQ_RDAP_BOOTSTRAP_URL=<dir>`` sends the whole RDAP path here.

Faults (``POST /_sandbox/faults``, :mod:`sandbox.faults`) as on the other stand-ins; ``fault_response``
answers what real RDAP servers send (https://github.com/meeb/whoisit/issues/34): 429 "Too Many Requests" (with
``Retry-After`` when the rule gives one, seconds or date), 403 "Number of allowed queries exceeded.",
422 "Your access is too fast,please try again later.", 5xx an error body. The streamed kinds apply
here too: ``huge`` is a 50 MB RFC 9083 domain object served as ``application/rdap+json`` (RFC 7480 4.2),
without a Content-Length by default, so only the client's cap stops it (assumption, not documented: no
RDAP server is known to send one this large, and RFC 7480/9083 bound no answer's size); ``trickle``
sends the real answer a few bytes at a time. Config (``/_sandbox/config``):
``registrar_host`` (the host name put in ``related`` links, e.g. ``localhost`` to make the hop go to
another limiter key and a private-address check), ``bootstrap_max_age``, ``oversize_bytes`` (pad every
answer past that many bytes: the oversized-answer fault; 0 = off), ``strict_accept`` (406 unless the
request's Accept names ``application/rdap+json``).
"""

from __future__ import annotations

import copy
import ipaddress
import json
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sandbox.httpbase import Provider, Request, Response, json_response
from sandbox.stats import Stats

MEDIA_TYPE = "application/rdap+json"
REGISTRY, REGISTRAR, RIR = "/registry/", "/registrar/", "/rir/"
OPERATIONS = ("registry_domain", "registrar_domain", "ip", "bootstrap", "unknown")
DOMAIN_FILES = (
    "whoisit__domain1.json",  # google.com at Verisign: thin, related -> MarkMonitor
    "whoisit__domain2.json",  # norway.no at Norid: thick, registrar inline
    "whoisit__domain3.json",  # themarquetry.com at Verisign: thin, related -> Registrar.eu
    "openrdap__cz__domain-example.cz.json",  # example.cz: entities without vCards
    "xn--fo-5ja_example.json",  # RFC 9083-style answer with a registrant
    "0_2_192_in-addr_arpa.json",  # a reverse domain
)
IP_FILES = (
    "whoisit__ip_v4.json",  # APNIC 1.1.1.0/24: no registrant role
    "whoisit__ip_v4_2.json",  # RIPE 130.59.0.0/16: registrants without vCards
    "whoisit__ip_v4_3.json",  # ARIN 13.64.0.0/11 and more: registrant with nested contacts
    "whoisit__ip_v6.json",  # ARIN 2001:4860::/32
    "2001_db8__.json",  # 2001:db8::/48, RFC 9083-style
)
#: RFC 9083 figure 15: the registrant entity a registrar's answer adds.
REGISTRANT_FILE = "entity-rfc9083-fig15.json"
#: Thin registries' answers whose registrar also gets a text/html ``related`` link first: such links
#: exist (APNIC's, whoisit__ip_v4.json) and must be skipped (a link's ``type`` is its target's media
#: type, RFC 9083 4.2; an RDAP answer's is application/rdap+json, RFC 7480 4.2).
HTML_RELATED = frozenset({"themarquetry.com"})
#: 429: RFC 7480 5.5. Source for the 403 and 422 texts: the answers of rdap.nic.biz and rdap.zdnsgtld.com
#: quoted in https://github.com/meeb/whoisit/issues/34; assumption, not documented: the 429 text
#: (servers send a 429 with or without a body).
FAULT_TEXT = {
    403: ("Forbidden", "Number of allowed queries exceeded."),
    422: ("Unprocessable Entity", "Your access is too fast,please try again later."),
    429: ("Too Many Requests", "Query rate limit exceeded."),
}


def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("sandbox.data.rdap").joinpath(name).read_text("utf-8"))


def error_body(code: int, title: str, description: str) -> dict[str, Any]:
    """RFC 9083 section 6."""
    return {
        "rdapConformance": ["rdap_level_0"],
        "errorCode": code,
        "title": title,
        "description": [description],
    }


def _networks(obj: dict[str, Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The prefixes of an IP network object: ``cidr0_cidrs`` when given, else start..end summarised."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for cidr in obj.get("cidr0_cidrs") or []:
        prefix = cidr.get("v4prefix") or cidr.get("v6prefix")
        found.append(ipaddress.ip_network(f"{prefix}/{cidr['length']}"))
    if not found:
        start, end = ipaddress.ip_address(obj["startAddress"]), ipaddress.ip_address(obj["endAddress"])
        found.extend(ipaddress.summarize_address_range(start, end))  # type: ignore[arg-type]
    return found


def bootstrap_documents(base_url: str, domains: list[str], networks: list[str]) -> dict[str, Any]:
    """RFC 9224 registries sending every served TLD to ``base_url``/registry/ and every network to /rir/."""
    base = base_url.rstrip("/")
    tlds = sorted({".".join(d.split(".")[-2 if d.endswith(".arpa") else -1 :]) for d in domains})
    v4 = sorted(n for n in networks if ":" not in n)
    v6 = sorted(n for n in networks if ":" in n)

    def doc(entries: list[str], path: str) -> dict[str, Any]:
        return {
            "description": "regq sandbox RDAP bootstrap",
            "publication": "2026-01-01T00:00:00Z",
            "version": "1.0",
            "services": [[entries, [base + path]]] if entries else [],
        }

    return {"dns.json": doc(tlds, REGISTRY), "ipv4.json": doc(v4, RIR), "ipv6.json": doc(v6, RIR)}


class RdapProvider(Provider):
    name = "rdap"
    default_config: dict[str, Any] = {
        "registrar_host": None,
        "bootstrap_max_age": 86400,
        "oversize_bytes": 0,
        "strict_accept": False,
    }

    def __init__(
        self,
        stats: Stats,
        config: dict[str, Any] | None = None,
        registered: Callable[[str], dict[str, Any] | None] | None = None,
        tlds: Iterable[str] = (),
    ) -> None:
        """``registered(name)``: the registry's object for a name the registrar stand-ins hold
        (:class:`sandbox.registry.RegistryView`), asked for names the recorded answers do not hold;
        ``tlds``: TLDs the bootstrap sends here besides those of the recorded answers."""
        super().__init__(stats, config)
        self._lock = threading.Lock()
        self.registered = registered
        self.tlds = frozenset(tlds)
        self._registrant = _load(REGISTRANT_FILE)
        self._registrant["roles"] = ["registrant"]
        self._networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, dict[str, Any]]] = []
        for name in IP_FILES:
            obj = _load(name)
            self._networks.extend((net, obj) for net in _networks(obj))
        self._networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
        self.reset_state()
        stats.declare_operations(OPERATIONS)

    def validate_config(self, config: dict[str, Any]) -> None:
        super().validate_config(config)
        for key in ("bootstrap_max_age", "oversize_bytes"):
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be an integer >= 0")
        if not isinstance(config["strict_accept"], bool):
            raise ValueError("strict_accept must be true or false")
        host = config["registrar_host"]
        if host is not None and (not isinstance(host, str) or not host.strip()):
            raise ValueError("registrar_host must be a host name or null")

    # -- state
    def reset_state(self) -> None:
        with self._lock:
            self._domains = {}
            for name in DOMAIN_FILES:
                obj = _load(name)
                self._domains[obj["ldhName"].lower()] = obj

    def seed(self, entries: Any) -> list[str]:
        """Add RDAP domain objects (``[{"objectClassName": "domain", "ldhName": ..., ...}]``)."""
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and e.get("ldhName") for e in entries
        ):
            raise ValueError("expected a list of RDAP domain objects with an ldhName")
        with self._lock:
            for entry in entries:
                self._domains[str(entry["ldhName"]).lower().rstrip(".")] = copy.deepcopy(entry)
            return [str(e["ldhName"]).lower() for e in entries]

    def domain_objects(self) -> list[dict[str, Any]]:
        """Copies of the registry answers it holds (e.g. to seed the DNS stand-in with their nameservers)."""
        with self._lock:
            return [copy.deepcopy(obj) for obj in self._domains.values()]

    def list_domains(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"fqdn": name, "thin": _is_thin(obj)} for name, obj in sorted(self._domains.items())]

    # -- Provider interface
    def authenticate(self, req: Request) -> Response | None:
        return None  # RDAP is public (RFC 7481 allows anonymous access)

    def operation(self, req: Request) -> str:
        path = req.path
        if path.startswith(REGISTRY + "domain/"):
            return "registry_domain"
        if path.startswith(REGISTRAR + "domain/"):
            return "registrar_domain"
        if path.startswith(RIR + "ip/"):
            return "ip"
        if path.startswith("/bootstrap/"):
            return "bootstrap"
        return "unknown"

    def fault_response(self, status: int) -> Response:
        title, text = FAULT_TEXT.get(status, ("Server Error" if status >= 500 else "Error", f"HTTP {status}"))
        return self._json(status, error_body(status, title, text))

    def handle(self, req: Request) -> Response:
        if req.method != "GET":
            return self._json(405, error_body(405, "Method Not Allowed", "RDAP is read-only (GET, HEAD)"))
        base = f"http://{req.headers.get('Host') or 'localhost'}"
        operation = self.operation(req)
        accept = (req.headers.get("Accept") or "").lower()
        if self.config["strict_accept"] and operation != "bootstrap" and MEDIA_TYPE not in accept:
            # RFC 7480 4.2: a client asks for application/rdap+json; strict servers refuse anything else
            return self._json(406, error_body(406, "Not Acceptable", "Accept: application/rdap+json"))
        if operation == "bootstrap":
            return self._bootstrap(req, base)
        if operation == "ip":
            return self._ip(unquote(req.path[len(RIR + "ip/") :]), base)
        if operation in ("registry_domain", "registrar_domain"):
            prefix = REGISTRY if operation == "registry_domain" else REGISTRAR
            name = unquote(req.path[len(prefix + "domain/") :]).lower().rstrip(".")
            return self._domain(name, base, registrar=operation == "registrar_domain")
        return self._json(404, error_body(404, "Not Found", f"no such RDAP path {req.path}"))

    # -- answers
    def _json(self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        pad = int(self.config["oversize_bytes"])
        if pad:  # the oversized-answer fault: a remark long enough to pass the client's cap
            obj = {**obj, "remarks": [{"title": "padding", "description": ["x" * (pad + 1)]}]}
        response = json_response(status, obj, headers)
        response.content_type = MEDIA_TYPE  # RFC 7480 4.2 / RFC 9083 10.1
        return response

    def _registrar_base(self, base: str) -> str:
        host = self.config["registrar_host"]
        if not host:
            return base
        port = base.rsplit(":", 1)[1] if base.count(":") == 2 else ""
        return f"http://{host}:{port}" if port else f"http://{host}"

    def _domain(self, name: str, base: str, registrar: bool) -> Response:
        with self._lock:
            stored = self._domains.get(name)
            answer = copy.deepcopy(stored) if stored is not None else None
        if answer is None and self.registered is not None:
            answer = self.registered(name)  # registered at a registrar stand-in: sandbox/registry.py
        if answer is None:
            return self._json(404, error_body(404, "Not Found", f"{name} is not registered here"))
        thin = _is_thin(answer)
        if registrar and not thin:
            return self._json(404, error_body(404, "Not Found", f"{name} is not a registrar's domain here"))
        self_url = f"{base}{REGISTRAR if registrar else REGISTRY}domain/{name}"
        links: list[dict[str, Any]] = [
            {"rel": "self", "type": MEDIA_TYPE, "href": self_url, "value": self_url}
        ]
        if registrar:
            answer["entities"] = [*answer.get("entities", []), copy.deepcopy(self._registrant)]
        elif thin:
            related = f"{self._registrar_base(base)}{REGISTRAR}domain/{name}"
            if name in HTML_RELATED:
                links.append({"rel": "related", "type": "text/html", "href": f"{base}/whois/{name}.html"})
            links.append({"rel": "related", "type": MEDIA_TYPE, "href": related, "value": self_url})
        answer["links"] = links
        return self._json(200, answer)

    def _ip(self, text: str, base: str) -> Response:
        try:
            address = ipaddress.ip_address(text.split("/", 1)[0])
        except ValueError:
            return self._json(400, error_body(400, "Bad Request", "not an IP address"))
        for network, obj in self._networks:
            if network.version == address.version and address in network:
                answer = copy.deepcopy(obj)
                href = f"{base}{RIR}ip/{address}"
                answer["links"] = [{"rel": "self", "type": MEDIA_TYPE, "href": href, "value": href}]
                return self._json(200, answer)
        return self._json(404, error_body(404, "Not Found", f"no network holds {address}"))

    def _bootstrap(self, req: Request, base: str) -> Response:
        name = req.path.rsplit("/", 1)[-1]
        docs = self.bootstrap(base)
        if name not in docs:
            return self._json(404, error_body(404, "Not Found", f"no bootstrap file {name}"))
        response = json_response(
            200, docs[name], {"Cache-Control": f"max-age={self.config['bootstrap_max_age']}"}
        )
        return response

    def bootstrap(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            domains = [*self._domains, *(f"nic.{tld}" for tld in self.tlds)]
        return bootstrap_documents(base_url, domains, [str(net) for net, _obj in self._networks])


def _is_thin(obj: dict[str, Any]) -> bool:
    """A thin registry's answer: one with a related RDAP link in the real data (Verisign's)."""
    return any(
        link.get("rel") == "related" and link.get("type") == MEDIA_TYPE for link in obj.get("links") or []
    )


def write_bootstrap(directory: str | Path, provider: RdapProvider, base_url: str) -> Path:
    """Write dns.json, ipv4.json and ipv6.json naming ``base_url`` into ``directory``; return it."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in provider.bootstrap(base_url).items():
        (folder / name).write_text(json.dumps(doc, indent=1), "utf-8")
    return folder
