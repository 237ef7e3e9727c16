"""A WHOIS stand-in on TCP (RFC 3912): one loopback listener per server role, answering real texts.

Roles (host name -> what it answers; texts in ``sandbox/data/whois/``, sources in its SOURCES.md):

* ``whois.iana.org``: a TLD's referral, ``refer:`` + ``whois:`` lines in the shape of IANA's real answer
  (``tests/data/whois/nic.live.txt``); .live verbatim, an unassigned TLD as ``iana-not-assigned.txt``;
* ``whois.rotld.ro`` (.ro), ``whois.eu`` (.eu), ``whois.denic.de`` (.de), ``whois.jprs.jp`` (.jp): thick
  registries answering their real record (google.ro, eurid.eu, google.de, yahoo.co.jp);
* ``whois.verisign-grs.com`` (.com/.net, thin): urlowl.com and shazow.net, naming their registrar's
  server (``whois.dynadot.com``: closes without answering, a hop that fails; ``whois.dreamhost.com``);
* ``whois.dreamhost.com``: the registrar's answer for shazow.net (the thin hop).

A registry role answers a name registered at a registrar stand-in as its registry would (``registered``,
built by :mod:`sandbox.registry`, which says which real text each shape follows).

A query is one line ending in CRLF (RFC 3912); the server answers and closes. The domain is the query's
last word without JPRS's ``/e`` suffix, so DENIC's ``-T dn,ace -C UTF-8 <q>`` and JPRS's ``<q>/e``
(``shared/registrydata/whois/servers.py``, sources there) work; the raw lines are kept in the stats.

Faults (:meth:`WhoisSandbox.set_faults`), rules ``{"server": host | "*", "kind": K, "count": n,
"domain": name?, ...}``, first match fires; each names its SOURCE ("assumption, not documented" where
no public source shows it):

* ``throttle`` ``{"text": "org"|"cz"|"uk"|"de"|"eu"|"nl"|"namecom"}``: a real throttling text instead of
  the answer (default: the role's own registry's text when there is one, else PIR's). Source: the real
  answers in ``sandbox/data/whois/`` (weppos/whois-parser's fixtures, see SOURCES.md there); "eu", "nl"
  and "namecom" are one line each, inline below with their sources;
* ``timeout`` ``{"seconds": 30}``: read the query, answer nothing, close after that long (or at stop).
  Assumption, not documented: RFC 3912 sets no time limit, no server documents one;
* ``trickle`` ``{"bytes": 16, "interval": 0.05}``: the real answer, a few bytes at a time. Assumption, not
  documented: a referral names whatever host the previous answer gives (``refer:`` in
  ``sandbox/data/whois/iana-live.txt``, ``Registrar WHOIS Server:`` in ``shazow.net-registry.txt``), so
  possibly a hostile or broken one;
* ``oversized`` ``{"bytes": 300000}``: the real answer padded with ``%`` comment lines to that size.
  Assumption, not documented: RFC 3912 bounds no answer's size (``%`` comments are RIPE's own form);
* ``truncated`` ``{"bytes": n?, "close": "reset"|"fin"}``: the first ``n`` bytes of the answer (default
  half), then a TCP reset, or with ``"fin"`` a clean close: RFC 3912 ends an answer only by the close,
  so a cut with a FIN looks complete on the wire and only the reading of the text can tell. Source:
  RFC 3912 2 (the close ends the answer); assumption, not documented: a server that stops mid-answer;
* ``reset``: a TCP reset before any answer; ``empty``: close without answering. Assumption, not
  documented: neither is recorded of a real server (the ``whois.dynadot.com`` role's silence is the
  sandbox's own failing hop, not an observation);
* ``latin1``: the answer encoded in Latin-1 instead of UTF-8. Source: RIPE's server answers in
  ISO-8859-1 (https://github.com/bitcynth/whois-v2/issues/17), others too
  (https://github.com/joepie91/python-whois/issues/28).

Counters (:meth:`WhoisSandbox.stats`): ``queries`` per server, ``raw`` query lines per server,
``faults_injected`` per kind.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "whois"
IANA = "whois.iana.org"
FAULT_KINDS = frozenset(
    {"throttle", "timeout", "trickle", "oversized", "truncated", "reset", "empty", "latin1"}
)
_MAX_QUERY = 1024


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _iana_answer(tld: str, host: str) -> str:
    """IANA's answer for ``tld`` in the shape of the real one (tests/data/whois/nic.live.txt)."""
    return (
        "% IANA WHOIS server\n% for more information on IANA, visit http://www.iana.org\n"
        f"% This query returned 1 object\n\nrefer:        {host}\n\ndomain:       {tld.upper()}\n\n"
        f"whois:        {host}\n\nstatus:       ACTIVE\nsource:       IANA\n\n"
    )


#: IANA's answer for a TLD it has no object for (constructed: the header of the real answers, 0 objects).
IANA_NO_OBJECT = (
    "% IANA WHOIS server\n% for more information on IANA, visit http://www.iana.org\n%\n"
    "% This query returned 0 objects.\n"
)

#: Throttling texts by name: the real captures (weppos/whois-parser's fixtures), and the one-liners below.
THROTTLE_TEXTS = {
    "org": "throttled-org.txt",
    "cz": "throttled-cz.txt",
    "uk": "throttled-uk.txt",
    "de": "throttled-de.txt",
}
#: One-line throttling texts: EURid's wording is weppos/whois-parser's example (lib/whois/parsers/whois.eu.rb,
#: "-1: Still in grace period, wait 7777777 seconds"; the code and the 7 seconds are ours); SIDN's (.nl)
#: is in lib/whois/parsers/whois.domain-registry.nl.rb there; name.com's (a registrar) is in
#: https://github.com/cheenanet/whois-servers-list/blob/5c47814aa058/limit-reached-messages.json.
INLINE_THROTTLE = {
    "eu": "-6: Still in grace period, wait 7 seconds\n",
    "nl": "whois.domain-registry.nl: only 1 request per second allowed, try again later\n",
    "namecom": "Too many connection attempts. Please try again in a few seconds.\n",
}
#: Registry roles' own throttling text (the default of a ``throttle`` fault there).
ROLE_THROTTLE = {"whois.denic.de": "de", "whois.eu": "eu", "whois.verisign-grs.com": "org"}


def _roles() -> dict[str, dict[str, Any]]:
    """Each role's records and its "not found" text (``{q}``: the domain)."""
    return {
        IANA: {"records": {"live": _text("iana-live.txt"), "eh": _text("iana-not-assigned.txt")}},
        "whois.rotld.ro": {
            "records": {"google.ro": _text("google.ro.txt")},
            # Constructed: RIPE-style wording; no captured ROTLD "not found" answer was found.
            "not_found": "% No entries found for the selected source(s).\n",
        },
        "whois.eu": {
            "records": {"eurid.eu": _text("eurid.eu.txt")},
            # Constructed: EURid answers an unregistered name with "Status: AVAILABLE".
            "not_found": "% WHOIS {q}\nDomain: {q}\nStatus: AVAILABLE\n",
        },
        "whois.denic.de": {
            "records": {"google.de": _text("google.de.txt")},
            "not_found": "Domain: {q}\nStatus: free\n",  # constructed: DENIC's documented "free" status
        },
        "whois.jprs.jp": {
            "records": {"yahoo.co.jp": _text("yahoo.co.jp.txt")},
            "not_found": "No match!!\n",  # constructed: JPRS's wording
        },
        "whois.verisign-grs.com": {
            "records": {
                "urlowl.com": _text("urlowl.com.txt"),
                "shazow.net": _text("shazow.net-registry.txt"),
            },
            "not_found": _text("verisign-not-found.txt"),  # real, for U34JEDZCQ.COM: served as is
        },
        # urlowl.com's registrar server: accepts and closes without a word (a registrar hop that fails).
        "whois.dynadot.com": {"records": {}, "not_found": "", "down": True},
        "whois.dreamhost.com": {
            "records": {"shazow.net": _text("shazow.net-registrar.txt")},
            "not_found": 'No match for "{q}".\n',
        },
    }


#: TLD -> registry role, as IANA refers them.
REFERRALS = {
    "ro": "whois.rotld.ro",
    "eu": "whois.eu",
    "de": "whois.denic.de",
    "jp": "whois.jprs.jp",
    "com": "whois.verisign-grs.com",
    "net": "whois.verisign-grs.com",
}


class _Handler(socketserver.BaseRequestHandler):
    server: _RoleServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5.0)
        data = b""
        try:
            while b"\n" not in data and len(data) < _MAX_QUERY:
                chunk = sock.recv(256)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return
        line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        self.server.owner.serve(self.server.role, line, sock)


class _RoleServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], role: str, owner: WhoisSandbox) -> None:
        self.role = role
        self.owner = owner
        super().__init__(address, _Handler)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class WhoisSandbox:
    """All roles, each on its own free loopback port. ``servers_setting`` is the REGQ_WHOIS_SERVERS value
    that reaches every registry role there; ``iana_address`` the REGQ_WHOIS_IANA_SERVER value."""

    def __init__(
        self, host: str = "127.0.0.1", registered: Callable[[str, str], str | None] | None = None
    ) -> None:
        """``registered(role, name)``: a registry role's answer for a name the registrar stand-ins hold
        (:class:`sandbox.registry.RegistryView`), asked for names the recorded texts do not hold."""
        self.host = host
        self.registered = registered
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._roles = _roles()
        self._referrals = dict(REFERRALS)
        self._rules: list[dict[str, Any]] = []
        self._queries: Counter[str] = Counter()
        self._raw: dict[str, list[str]] = {}
        self._faults: Counter[str] = Counter()
        self._servers: dict[str, _RoleServer] = {}
        try:
            for role in self._roles:
                self._servers[role] = _RoleServer((host, 0), role, self)
        except OSError:
            self.stop()
            raise
        self._threads: list[threading.Thread] = []

    # --- addresses -------------------------------------------------------------------------------
    def address(self, role: str) -> tuple[str, int]:
        host, port = self._servers[role].server_address[:2]
        return str(host), int(port)

    @property
    def iana_address(self) -> str:
        host, port = self.address(IANA)
        return f"{host}:{port}"

    @property
    def servers_setting(self) -> str:
        """``name=host:port,...`` for every role but IANA (the value of REGQ_WHOIS_SERVERS)."""
        return ",".join(
            f"{role}={h}:{p}" for role in self._servers if role != IANA for h, p in [self.address(role)]
        )

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> WhoisSandbox:
        if not self._threads:
            self._stop.clear()
            for role, server in self._servers.items():
                # a short poll interval: stop() shuts nine servers down one after the other
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"whois-{role}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()  # cuts fault sleeps short
        for server in self._servers.values():
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    # --- admin -------------------------------------------------------------------------------------
    def add_record(self, role: str, domain: str, text: str) -> None:
        with self._lock:
            self._roles[role]["records"][domain.lower()] = text

    def set_referral(self, tld: str, host: str) -> None:
        """Make IANA refer ``tld`` to ``host`` (any name: a test may refer to a private address)."""
        with self._lock:
            self._referrals[tld.lower()] = host

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        for rule in rules:
            if rule.get("kind") not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {rule.get('kind')!r}; one of {sorted(FAULT_KINDS)}")
        with self._lock:
            self._rules = [{**rule, "fired": 0} for rule in rules]

    def clear_faults(self) -> None:
        self.set_faults([])

    def reset(self) -> None:
        with self._lock:
            self._roles = _roles()
            self._referrals = dict(REFERRALS)
            self._rules = []
            self._queries.clear()
            self._raw.clear()
            self._faults.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queries": {role: self._queries.get(role, 0) for role in self._servers},
                "raw": {role: list(lines) for role, lines in self._raw.items()},
                "faults_injected": dict(self._faults),
            }

    # --- serving -----------------------------------------------------------------------------------
    def _answer(self, role: str, line: str) -> str:
        domain = line.split()[-1].lower().removesuffix("/e") if line.split() else ""
        with self._lock:
            spec = self._roles[role]
            if role == IANA:
                tld = domain.rsplit(".", 1)[-1]
                if tld in spec["records"]:
                    return str(spec["records"][tld])
                host = self._referrals.get(tld)
                return _iana_answer(tld, host) if host else IANA_NO_OBJECT
            record = spec["records"].get(domain)
        if record is None and self.registered is not None and role in self._referrals.values():
            record = self.registered(role, domain)  # registered at a registrar stand-in: sandbox/registry.py
        return str(record) if record is not None else str(spec["not_found"]).replace("{q}", domain)

    def _fault(self, role: str, domain: str) -> dict[str, Any] | None:
        with self._lock:
            for rule in self._rules:
                if rule.get("server", "*") not in ("*", role):
                    continue
                if rule.get("domain") and rule["domain"].lower() != domain:
                    continue
                if rule.get("count") is not None and rule["fired"] >= rule["count"]:
                    continue
                rule["fired"] += 1
                self._faults[rule["kind"]] += 1
                return rule
        return None

    def serve(self, role: str, line: str, sock: socket.socket) -> None:
        with self._lock:
            self._queries[role] += 1
            self._raw.setdefault(role, []).append(line)
        domain = line.split()[-1].lower().removesuffix("/e") if line.split() else ""
        if self._roles[role].get("down"):
            return
        text = self._answer(role, line)
        rule = self._fault(role, domain)
        try:
            self._send(role, text, rule, sock)
        except OSError:
            return  # the client went away: nothing to do

    def _send(self, role: str, text: str, rule: dict[str, Any] | None, sock: socket.socket) -> None:
        params = rule or {}
        kind = params.get("kind")
        if kind == "throttle":
            name = str(params.get("text") or ROLE_THROTTLE.get(role, "org"))
            text = INLINE_THROTTLE[name] if name in INLINE_THROTTLE else _text(THROTTLE_TEXTS[name])
        elif kind == "timeout":
            self._stop.wait(float(params.get("seconds", 30)))
            return
        elif kind == "reset":
            _reset(sock)
            return
        elif kind == "empty":
            return
        elif kind == "oversized":
            size = int(params.get("bytes", 300_000))
            pad = "% padding line of an oversized answer, as a broken or hostile server sends\n"
            text += pad * (size // len(pad) + 1)
        raw = text.encode("latin-1", "replace") if kind == "latin1" else text.encode("utf-8")
        if kind == "truncated":
            cut = params.get("bytes")
            sock.sendall(raw[: int(cut) if cut is not None else len(raw) // 2])
            if params.get("close") == "fin":
                sock.shutdown(socket.SHUT_WR)  # a clean end of the answer (RFC 3912: the close ends it)
                return
            self._stop.wait(0.2)  # let the client read the first half before the reset
            _reset(sock)
            return
        if kind == "trickle":
            step = int(params.get("bytes", 16))
            interval = float(params.get("interval", 0.05))
            for start in range(0, len(raw), step):
                sock.sendall(raw[start : start + step])
                if self._stop.wait(interval):
                    return
            return
        sock.sendall(raw)
