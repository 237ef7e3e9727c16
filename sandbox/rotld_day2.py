"""The ROTLD stand-in's day-2 commands (issue 20): domain-transfer, glue hosts, contact-update, reset-ns;
the trade (owner change: domain-trade, trade-info, trade-confirm) is :mod:`sandbox.rotld_trade`.

Each behaviour names its source. [ref] ROTLD's REST API 2.0 reference (https://rest2-test.rotld.ro:6080/)
as the public client alinchican/rotld-rest-client transcribes it in its command schemas
(``schema/domain-transfer.schema.js``, ``schema/nameserver-create.schema.js``,
``schema/nameserver-update.schema.js``, ``schema/nameserver-info.schema.js``,
``schema/nameserver-delete.js``, ``schema/domain-reset-ns.schema.js``,
``schema/command-contact-update.schema.js``) and the curl examples of its ``<command>.js`` files.
[assumption] this stand-in's own choice where no public source says: every such code is a config key, so a
test can show the gateway keeps whatever the registry answers instead of depending on our guess.

* ``domain-transfer`` [ref]: ``domain`` and ``authorization_key``, both mandatory (10001 without one). The
  registrant reads the key in the registry's own panel; here ``transfer_keys`` ({domain: key, or {"key",
  "issued": "YYYY-MM-DD"}}) plays that panel. The key lasts 14 days after ``issued`` and is used up by a
  transfer [assumption: issue 20's facts and the gateway's own reading; the client's ``domain-transfer.js``
  and its schema state neither]. Refusals [assumption, codes]: wrong key ``transfer_bad_key_code``, expired
  key ``transfer_expired_key_code``, already ours or already running ``transfer_refused_code``, not
  registered at all ``not_ours_code`` ("Invalid domain", as the other domain commands answer). UNVERIFIED
  whether the REST transfer completes in the call: ``transfer_mode`` ``sync`` moves the domain to us at once
  (ROTLD's EPP answers 1000, not 1001); ``pending`` accepts it and moves the domain after
  ``transfer_pending_seconds`` (domain-info answers ``not_ours_code`` until then). Either way the
  registrant, nameservers and expiry stay as the registry holds them (the command takes no period). The
  answer's data ``{"domain"}`` is an assumption.
* ``nameserver-create`` / ``nameserver-update`` [ref]: ``nameserver`` and ``ips``, a comma-separated list of
  1 or 2 IPv4/IPv6 addresses ("Maximum allowed number of IPs is 2"); 10003 naming ``ips`` otherwise
  [assumption, code]. Create of a host whose parent domain is not ours: ``not_ours_code`` [assumption].
  Whether a second create of the same host is refused is not documented: this stand-in replaces its
  addresses (the gateway's set_nameservers relies on create being repeatable: an assumption that only
  repeats the gateway's own). Update replaces the addresses of an existing host; updating an unknown one
  answers ``host_not_found_code`` [assumption]. The answers' data ``{"nameserver", "ips"}`` is an
  assumption.
* ``nameserver-info`` / ``nameserver-delete`` [ref]: ``nameserver``. An unknown host answers
  ``host_not_found_code``; deleting a host a domain still delegates to answers ``host_in_use_code``
  [assumption, both codes; the info answer ``{"nameserver", "ips": [...]}`` is our guess too].
* ``contact-update`` [ref]: ``cid``, ``address1``, ``city``, ``state_province``, ``country_code``, ``phone``,
  ``email`` mandatory; ``address2``, ``address3``, ``postal_code``, ``fax`` optional. Name, person type and
  CNP/CUI are not parameters (that is ``contact-correct``): any such field sent is ignored. The contact is
  one object: every domain whose registrant it is changes (an ``effects`` entry ``contact`` per domain).
  Unknown cid: 50006 [ref]. The new values are checked like contact-create's (:mod:`sandbox.rotld_contacts`)
  and the answer's data is ``{"cid"}`` [assumption, both].
* ``domain-reset-ns`` [ref]: at most 6 nameservers (10003 beyond [assumption, code]), 10501 / 10502 as
  before. "If nameservers parameter is empty, the current nameservers of the domain will be deleted":
  ``reset_ns_empty`` ``clear`` does that (default, as documented); ``refuse`` answers 10001 (this
  stand-in's earlier behaviour). A missing parameter is 10001 either way.

Every command is counted in the stats by name (``by_operation``), so a test can assert "sent once". Effects
per domain (``effects``): ``transfer``, ``nameservers`` (reset-ns), ``contact`` (each domain of the updated
contact), and ``glue_create`` / ``glue_update`` / ``glue_delete`` on the host's parent domain (every
accepted command counts, a repeated identical one too).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.domains import is_valid_fqdn, normalize_fqdn, utcnow
from sandbox.rotld_contacts import validate_contact
from sandbox.rotld_errors import RotldError, require
from sandbox.rotld_trade import TRADE_CONFIG, TradeCommands

if TYPE_CHECKING:
    from sandbox.rotld import RotldProvider

Command = Callable[[dict[str, str]], dict[str, Any]]

KEY_DAYS = 14
MAX_IPS = 2
MAX_NAMESERVERS = 6
ADDRESS_FIELDS = ("address1", "address2", "address3", "city", "state_province", "postal_code")
UPDATE_REQUIRED = ("cid", "address1", "city", "state_province", "country_code", "phone", "email")
UPDATE_OPTIONAL = ("address2", "address3", "postal_code", "fax")

DAY2_CONFIG: dict[str, Any] = {
    "transfer_keys": {},
    "transfer_mode": "sync",  # "sync" | "pending": UNVERIFIED which one ROTLD's REST transfer is
    "transfer_pending_seconds": 0.5,
    "transfer_bad_key_code": "51001",  # [assumption] no public source gives these codes
    "transfer_expired_key_code": "51002",
    "transfer_refused_code": "51003",
    "host_not_found_code": "50501",
    "host_in_use_code": "50503",
    "reset_ns_empty": "clear",  # "clear" (documented) | "refuse"
    **TRADE_CONFIG,  # domain-trade, trade-info, trade-confirm: see sandbox.rotld_trade
}


def _ips(form: dict[str, str]) -> list[str]:
    require(form, "ips")
    ips = [a.strip() for a in form["ips"].split(",") if a.strip()]
    if not 1 <= len(ips) <= MAX_IPS:
        raise RotldError("10003", f"Invalid ips (1 to {MAX_IPS} addresses)", {"parameter": "ips"})
    for raw in ips:
        try:
            ipaddress.ip_address(raw)
        except ValueError:
            raise RotldError("10003", f"Invalid ip: {raw}", {"parameter": "ips"}) from None
    return ips


def _host(form: dict[str, str]) -> str:
    require(form, "nameserver")
    host = normalize_fqdn(form["nameserver"])
    if not is_valid_fqdn(host):
        raise RotldError("10501", f"Invalid nameserver: {host}")
    return host


class Day2Commands:
    """The day-2 commands of one :class:`~sandbox.rotld.RotldProvider`, with the state they add."""

    def __init__(
        self,
        provider: RotldProvider,
        ro_domain: Callable[[dict[str, str]], str],
        nameserver_list: Callable[[str, str, dict[str, list[str]]], list[str]],
    ) -> None:
        self.p = provider
        self.ro_domain, self.nameserver_list = ro_domain, nameserver_list  # sandbox.rotld's checks
        self.transfers: dict[str, float] = {}  # domain -> time.monotonic() when the pending one completes
        self.used_keys: set[str] = set()  # domains whose current key a transfer or a trade used up
        self.trades = TradeCommands(provider, ro_domain)  # the owner change: sandbox.rotld_trade

    def clear(self) -> None:
        self.transfers.clear()
        self.used_keys.clear()
        self.trades.clear()

    def install(self, commands: dict[str, Command]) -> None:
        """Add the day-2 commands (replacing the first versions of nameserver-create and domain-reset-ns)
        and let every command see pending transfers that came due."""
        commands.update(
            {
                "domain-transfer": self.domain_transfer,
                "domain-reset-ns": self.domain_reset_ns,
                "nameserver-create": self.nameserver_create,
                "nameserver-update": self.nameserver_update,
                "nameserver-delete": self.nameserver_delete,
                "nameserver-info": self.nameserver_info,
                "contact-update": self.contact_update,
                **self.trades.commands(),
            }
        )
        for name, command in list(commands.items()):
            commands[name] = self._settling(command)

    def _settling(self, command: Command) -> Command:
        def run(form: dict[str, str]) -> dict[str, Any]:
            self.settle()
            return command(form)

        return run

    def settle(self) -> None:
        """Complete the pending transfers whose time has come (``transfer_mode`` ``pending``)."""
        now = time.monotonic()
        with self.p.store.lock:
            for domain, at in list(self.transfers.items()):
                if now >= at:
                    del self.transfers[domain]
                    self._complete(domain)
            self.trades.settle()

    def _complete(self, domain: str) -> None:
        dom = self.p.store.domains.get(domain)
        if dom is not None:
            dom.owner = "us"
            dom.updated_at = utcnow()

    def _key(self, domain: str) -> tuple[str | None, date | None]:
        entry = (self.p.config.get("transfer_keys") or {}).get(domain)
        if isinstance(entry, dict):
            issued = entry.get("issued")
            return str(entry.get("key") or "") or None, date.fromisoformat(issued) if issued else None
        return (str(entry) if entry else None), None

    # -- domain-transfer
    def domain_transfer(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, "domain", "authorization_key")
        domain = self.ro_domain(form)
        cfg = self.p.config
        with self.p.store.lock:
            dom = self.p.store.domains.get(domain)
            if dom is None:
                raise RotldError(str(cfg["not_ours_code"]), f"Invalid domain: {domain}")
            if dom.owner == "us" or domain in self.transfers:
                raise RotldError(str(cfg["transfer_refused_code"]), f"Transfer not allowed for {domain}")
            key, issued = self._key(domain)
            if key is None or domain in self.used_keys or form["authorization_key"].strip() != key:
                raise RotldError(str(cfg["transfer_bad_key_code"]), "Invalid authorization key")
            if issued is not None and utcnow().date() > issued + timedelta(days=KEY_DAYS):
                raise RotldError(str(cfg["transfer_expired_key_code"]), "Authorization key expired")
            self.used_keys.add(domain)
            self.p.stats.effect(domain, "transfer")
            if cfg.get("transfer_mode") == "pending":
                self.transfers[domain] = time.monotonic() + float(cfg.get("transfer_pending_seconds") or 0)
            else:
                self._complete(domain)
        return {"domain": domain}

    # -- domain-reset-ns
    def domain_reset_ns(self, form: dict[str, str]) -> dict[str, Any]:
        domain = self.ro_domain(form)
        if "nameservers" not in form or self.p.config.get("reset_ns_empty") == "refuse":
            require(form, "nameservers")
        with self.p.store.lock:
            glue = dict(self.p.glue)
        hosts = self.nameserver_list(form["nameservers"], domain, glue)
        if len(hosts) > MAX_NAMESERVERS:
            raise RotldError(
                "10003", f"Too many nameservers (at most {MAX_NAMESERVERS})", {"parameter": "nameservers"}
            )
        with self.p.store.lock:
            dom = self.p._ours(domain)
            dom.nameservers = hosts
            dom.updated_at = utcnow()
            self.p.stats.effect(domain, "nameservers")
        return {"domain": domain, "nameservers": hosts}

    # -- glue hosts
    def nameserver_create(self, form: dict[str, str]) -> dict[str, Any]:
        host, ips = _host(form), _ips(form)
        with self.p.store.lock:
            parent = next((d for d in self.p.store.domains if host.endswith("." + d)), None)
            if parent is None or self.p.store.get_ours(parent) is None:
                raise RotldError(str(self.p.config["not_ours_code"]), f"Invalid domain for nameserver {host}")
            self.p.glue[host] = ips
            self.p.stats.effect(parent, "glue_create")
        return {"nameserver": host, "ips": ips}

    def _parent(self, host: str) -> str:
        """The domain a host is under (the host itself when none is known): where its effects count."""
        return next((d for d in self.p.store.domains if host.endswith("." + d)), host)

    def _known_host(self, host: str) -> list[str]:
        ips = self.p.glue.get(host)
        if ips is None:
            raise RotldError(str(self.p.config["host_not_found_code"]), f"Nameserver {host} not found")
        return ips

    def nameserver_update(self, form: dict[str, str]) -> dict[str, Any]:
        host, ips = _host(form), _ips(form)
        with self.p.store.lock:
            self._known_host(host)
            self.p.glue[host] = ips
            self.p.stats.effect(self._parent(host), "glue_update")
        return {"nameserver": host, "ips": ips}

    def nameserver_info(self, form: dict[str, str]) -> dict[str, Any]:
        host = _host(form)
        with self.p.store.lock:
            return {"nameserver": host, "ips": list(self._known_host(host))}

    def nameserver_delete(self, form: dict[str, str]) -> dict[str, Any]:
        host = _host(form)
        with self.p.store.lock:
            self._known_host(host)
            users = [d.fqdn for d in self.p.store.domains.values() if host in d.nameservers]
            if users:
                code = str(self.p.config["host_in_use_code"])
                raise RotldError(code, f"Nameserver {host} is in use by {len(users)} domain(s)")
            del self.p.glue[host]
            self.p.stats.effect(self._parent(host), "glue_delete")
        return {"nameserver": host}

    # -- contact-update
    def contact_update(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, *UPDATE_REQUIRED)
        cid = form["cid"].strip().upper()
        with self.p.store.lock:
            current = self.p.contacts.get(cid)
            if current is None:
                raise RotldError("50006", f"Contact {cid} not found")
            kept = {k: v for k, v in current.items() if k not in ADDRESS_FIELDS and k != "fax"}
            given = {k: form[k] for k in UPDATE_REQUIRED[1:] + UPDATE_OPTIONAL if form.get(k, "").strip()}
            updated = validate_contact({**kept, **given})
            self.p.contacts[cid] = updated
            for dom in self.p.store.domains.values():
                if dom.registrant_id == cid:
                    self.p.stats.effect(dom.fqdn, "contact")
        return {"cid": cid}
