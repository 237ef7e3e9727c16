"""The ROTLD stand-in's trade (owner change) commands: domain-trade, trade-info, trade-confirm.

Installed by :class:`sandbox.rotld_day2.Day2Commands`. [ref] ROTLD's REST API 2.0 reference
(https://rest2-test.rotld.ro:6080/) as the public client alinchican/rotld-rest-client transcribes it:
``schema/domain-trade.schema.js`` (``domain``, ``authorization_key``, ``c_registrant`` "the new registrant
contact ID (a registrant must be created before). The registrant contact ID must be unique for each
trade", ``domain_period`` 1..10, optional ``domain_password`` of 5 to 40 characters),
``schema/trade-confirm.schema.js`` (``tid``, an integer) and
``schema/__tests__/command-trade-info.schema.test.js`` (``tid``, an integer). [assumption] marks this
stand-in's own choices (codes are config keys).

* ``domain-trade`` [ref]: the four mandatory parameters (10001 without one), ``domain_period`` 1..10 and a
  ``domain_password`` of 5 to 40 characters (10003 otherwise [assumption, code]). The key is the
  registrant's authorization key, the one ``domain-transfer`` takes (``transfer_keys`` plays the
  registry's panel; wrong, expired or used up: ``transfer_bad_key_code`` / ``transfer_expired_key_code``
  [assumption: the same key and codes as a transfer]). Unknown ``c_registrant``: 50006 (as domain-register).
  "Unique for each trade" is read as: the new registrant is not the current one, and a trade of the
  domain is not running (``trade_refused_code`` [assumption, code and reading]). The answer's data is
  ``{"tid", "domain"}`` [assumption]. Counted as the effect ``trade``.
* UNVERIFIED whether a trade completes in the call: ``trade_mode`` ``sync`` gives the domain its new
  registrant at once (trade ``completed``); ``pending`` leaves the trade ``pending`` until ``trade-confirm``,
  then ``confirmed`` for ``trade_pending_seconds``, then ``completed`` (the registrant changes then). A
  domain whose first label starts ``trade-refused-`` ends ``refused`` instead (the registrant stays).
* ``trade-info`` [ref: ``tid``]: ``{"tid", "domain", "status", "c_registrant", "reason"}`` [assumption: the
  answer's fields and its ``status`` words]. Unknown tid: ``trade_not_found_code`` [assumption].
* ``trade-confirm`` [ref: ``tid``]: confirms a ``pending`` trade; any other state answers
  ``trade_refused_code`` [assumption]. The answer's data is ``{"tid"}`` [assumption].
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.domains import utcnow
from sandbox.rotld_errors import RotldError, require

if TYPE_CHECKING:
    from sandbox.rotld import RotldProvider

Command = Callable[[dict[str, str]], dict[str, Any]]

FIRST_TID = 7001
RUNNING = ("pending", "confirmed")
KEY_DAYS = 14
#: [ref] schema/domain-trade.schema.js: domain_password's characters and length.
TRADE_PASSWORD_RE = re.compile(r"^[a-z0-9\-.,:;\[\]{}_+=@#$^*?!|~]{5,40}$", re.IGNORECASE)

TRADE_CONFIG: dict[str, Any] = {
    "trade_mode": "sync",  # "sync" | "pending": UNVERIFIED which one ROTLD's REST trade is
    "trade_pending_seconds": 0.5,
    "trade_refused_code": "51004",  # [assumption] no public source gives these codes
    "trade_not_found_code": "51005",
}


@dataclass
class Trade:
    tid: int
    domain: str
    cid: str
    status: str  # pending | confirmed | completed | refused
    due: float | None = None  # time.monotonic() when a confirmed trade ends


class TradeCommands:
    """The trade commands of one :class:`~sandbox.rotld.RotldProvider` and the trades they keep."""

    def __init__(self, provider: RotldProvider, ro_domain: Callable[[dict[str, str]], str]) -> None:
        self.p, self.ro_domain = provider, ro_domain
        self.trades: dict[int, Trade] = {}
        self._tids = itertools.count(FIRST_TID)

    def clear(self) -> None:
        self.trades.clear()

    def commands(self) -> dict[str, Command]:
        return {
            "domain-trade": self.domain_trade,
            "trade-info": self.trade_info,
            "trade-confirm": self.trade_confirm,
        }

    def settle(self) -> None:
        """End the confirmed trades whose time has come (called under the store's lock)."""
        now = time.monotonic()
        for trade in self.trades.values():
            if trade.status == "confirmed" and trade.due is not None and now >= trade.due:
                self._end(trade)

    def _end(self, trade: Trade) -> None:
        if trade.domain.split(".", 1)[0].startswith("trade-refused-"):
            trade.status = "refused"
            return
        dom = self.p.store.domains.get(trade.domain)
        if dom is not None:
            dom.registrant_id, dom.owner, dom.updated_at = trade.cid, "us", utcnow()
        trade.status = "completed"

    def _check_key(self, domain: str, key: str) -> None:
        cfg = self.p.config
        entry = (cfg.get("transfer_keys") or {}).get(domain)
        issued = None
        if isinstance(entry, dict):
            issued = entry.get("issued")
            entry = entry.get("key")
        if not entry or domain in self.p.day2.used_keys or key.strip() != str(entry):
            raise RotldError(str(cfg["transfer_bad_key_code"]), "Invalid authorization key")
        if issued and utcnow().date() > date.fromisoformat(issued) + timedelta(days=KEY_DAYS):
            raise RotldError(str(cfg["transfer_expired_key_code"]), "Authorization key expired")

    def domain_trade(self, form: dict[str, str]) -> dict[str, Any]:
        require(form, "domain", "authorization_key", "c_registrant", "domain_period")
        domain = self.ro_domain(form)
        raw_period = form["domain_period"].strip()
        if not raw_period.isdigit() or not 1 <= int(raw_period) <= 10:
            raise RotldError("10003", "Invalid domain_period (1 to 10)", {"parameter": "domain_period"})
        password = form.get("domain_password", "")
        if password and not TRADE_PASSWORD_RE.match(password):
            raise RotldError("10003", "Invalid domain_password", {"parameter": "domain_password"})
        cid = form["c_registrant"].strip().upper()
        cfg = self.p.config
        with self.p.store.lock:
            dom = self.p.store.domains.get(domain)
            if dom is None:
                raise RotldError(str(cfg["not_ours_code"]), f"Invalid domain: {domain}")
            if cid not in self.p.contacts:
                raise RotldError("50006", f"Contact {cid} not found")
            self._check_key(domain, form["authorization_key"])
            running = [t for t in self.trades.values() if t.domain == domain and t.status in RUNNING]
            if running or dom.registrant_id.upper() == cid:
                raise RotldError(str(cfg["trade_refused_code"]), f"Trade not allowed for {domain}")
            self.p.day2.used_keys.add(domain)
            trade = Trade(next(self._tids), domain, cid, "pending")
            self.trades[trade.tid] = trade
            self.p.stats.effect(domain, "trade")
            if cfg.get("trade_mode") != "pending":
                self._end(trade)
        return {"tid": trade.tid, "domain": domain}

    def _trade(self, form: dict[str, str]) -> Trade:
        require(form, "tid")
        raw = form["tid"].strip()
        if not raw.isdigit():
            raise RotldError("10003", "Invalid tid (an integer)", {"parameter": "tid"})
        trade = self.trades.get(int(raw))
        if trade is None:
            raise RotldError(str(self.p.config["trade_not_found_code"]), f"Trade {raw} not found")
        return trade

    def trade_info(self, form: dict[str, str]) -> dict[str, Any]:
        with self.p.store.lock:
            trade = self._trade(form)
            reason = "The registrant refused the trade" if trade.status == "refused" else None
            return {
                "tid": trade.tid,
                "domain": trade.domain,
                "status": trade.status,
                "c_registrant": trade.cid,
                "reason": reason,
            }

    def trade_confirm(self, form: dict[str, str]) -> dict[str, Any]:
        with self.p.store.lock:
            trade = self._trade(form)
            if trade.status != "pending":
                code = str(self.p.config["trade_refused_code"])
                raise RotldError(code, f"Trade {trade.tid} is {trade.status}, not pending confirmation")
            trade.status = "confirmed"
            trade.due = time.monotonic() + float(self.p.config.get("trade_pending_seconds") or 0)
        return {"tid": trade.tid}
