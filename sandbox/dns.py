"""An authoritative DNS stand-in for tests and the demo: A/AAAA from a zone table over UDP and TCP.

One :class:`DnsServer` listens on ``host`` (loopback) with the same free port for UDP and TCP, and answers
every question from its :class:`Zone` with the AA flag set:

* a name in the zone: its A or AAAA records (NOERROR with no answer when it has none of that type:
  RFC 2308 section 2.2, "NODATA");
* a name not in the zone: NXDOMAIN (RFC 1035 section 4.1.1, RCODE 3; RFC 2308 section 2.1);
* a UDP answer larger than the client's payload size (512 bytes without EDNS, RFC 1035 section 4.2.1;
  EDNS payload size, RFC 6891 section 6.2.5): truncated (TC), so the client asks again over TCP
  (RFC 7766 section 5).

Sources of the faults: SERVFAIL is RCODE 2 (RFC 1035 4.1.1) and what a broken or lame server answers;
a dropped datagram is a timeout (RFC 1035 section 4.2.1: UDP carries no guarantee of delivery), which a
resolver meets as no answer within its lifetime.

Faults (:meth:`Zone.set_fault`), per name or for every name (``"*"``), optionally per type and a number of
times: ``servfail`` (rcode SERVFAIL), ``nxdomain`` (even for a known name), ``timeout`` (no answer at all:
the UDP datagram is dropped, a TCP connection is held open, then closed, without a reply).

Seeding: :meth:`Zone.seed` takes ``{host: [ip, ...]}``; :meth:`Zone.seed_rdap` takes the nameservers of
an RDAP domain (or nameserver) answer, such as the sandbox RDAP server's, with the addresses it lists or
stable documentation addresses (:func:`synthetic_addresses`) where it lists none.

Counters (:meth:`Zone.stats`): ``queries``, ``by_transport``, ``by_qtype``, ``by_name``, ``by_rcode``,
``dropped``, ``truncated``, ``faults_injected``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

FAULT_KINDS = ("servfail", "nxdomain", "timeout")
#: Answers carry this TTL (the lookup caches keep their own).
RECORD_TTL = 300
#: A TCP client held by the ``timeout`` fault is let go after this long (or at once when the server stops).
HOLD_SECONDS = 30.0
ANY_NAME = "*"


def zone_name(raw: str) -> str:
    return raw.strip().rstrip(".").lower()


def synthetic_addresses(host: str) -> list[str]:
    """Two stable documentation addresses for ``host``: one in 198.51.100.0/24, one in 2001:db8::/32."""
    digest = hashlib.sha256(zone_name(host).encode()).digest()
    v6 = ipaddress.IPv6Address(int.from_bytes(b"\x20\x01\x0d\xb8" + digest[:12], "big"))
    return [f"198.51.100.{1 + digest[12] % 254}", str(v6)]


def rdap_nameservers(obj: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{host: [ip, ...]}`` of an RDAP domain or nameserver object (its ``ipAddresses`` v4 and v6; an
    empty list where it gives none)."""
    servers = [obj] if obj.get("objectClassName") == "nameserver" else list(obj.get("nameservers") or [])
    found: dict[str, list[str]] = {}
    for server in servers:
        name = server.get("ldhName") or server.get("unicodeName")
        if not name:
            continue
        given = server.get("ipAddresses") or {}
        found[zone_name(str(name))] = [str(ip) for version in ("v4", "v6") for ip in given.get(version) or []]
    return found


@dataclass
class Fault:
    kind: str
    qtype: str | None = None  # "A", "AAAA" or None for both
    remaining: int | None = None  # None: every time


class Zone:
    """The records and faults a :class:`DnsServer` answers from; thread-safe, changeable while serving."""

    def __init__(self, records: Mapping[str, Iterable[str]] | None = None) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, list[str]] = {}
        self._faults: dict[str, Fault] = {}
        self._reset_counters()
        if records:
            self.seed(records)

    def _reset_counters(self) -> None:
        self._queries = 0
        self._by_transport: Counter[str] = Counter()
        self._by_qtype: Counter[str] = Counter()
        self._by_name: Counter[str] = Counter()
        self._by_rcode: Counter[str] = Counter()
        self._dropped = 0
        self._truncated = 0
        self._faults_injected: Counter[str] = Counter()

    # --- the table ---------------------------------------------------------------------------------
    def seed(self, records: Mapping[str, Iterable[str]]) -> None:
        """Add or replace ``{host: [ip, ...]}``; each address is an A or AAAA record by its version.

        An empty list makes a name that exists without addresses (NOERROR, no answer)."""
        parsed = {
            zone_name(host): [str(ipaddress.ip_address(ip)) for ip in ips] for host, ips in records.items()
        }
        with self._lock:
            self._records.update(parsed)

    def seed_rdap(
        self, obj: Mapping[str, Any], fill: Callable[[str], list[str]] | None = synthetic_addresses
    ) -> dict[str, list[str]]:
        """Seed the nameservers of an RDAP domain or nameserver object: the addresses it gives, else
        ``fill(host)`` (stable documentation addresses by default; None: the host exists without any).
        Returns what was seeded."""
        records = {host: ips or (fill(host) if fill else []) for host, ips in rdap_nameservers(obj).items()}
        self.seed(records)
        return records

    def remove(self, host: str) -> None:
        with self._lock:
            self._records.pop(zone_name(host), None)

    def records(self) -> dict[str, list[str]]:
        with self._lock:
            return {host: list(ips) for host, ips in self._records.items()}

    def set_fault(self, host: str, kind: str, qtype: str | None = None, count: int | None = None) -> None:
        """Answer ``host`` (``"*"``: every name) with fault ``kind``, for ``qtype`` only if given, ``count``
        times if given (then normally again)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        if qtype not in (None, "A", "AAAA"):
            raise ValueError(f"qtype must be A, AAAA or None, got {qtype!r}")
        with self._lock:
            self._faults[zone_name(host) if host != ANY_NAME else ANY_NAME] = Fault(kind, qtype, count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget records, faults and counters."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._reset_counters()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queries": self._queries,
                "by_transport": dict(self._by_transport),
                "by_qtype": dict(self._by_qtype),
                "by_name": dict(self._by_name),
                "by_rcode": dict(self._by_rcode),
                "dropped": self._dropped,
                "truncated": self._truncated,
                "faults_injected": dict(self._faults_injected),
            }

    # --- answering ---------------------------------------------------------------------------------
    def _fault_for(self, name: str, qtype: str) -> str | None:
        for key in (name, ANY_NAME):
            fault = self._faults.get(key)
            if fault is None or fault.qtype not in (None, qtype):
                continue
            if fault.remaining is not None:
                if fault.remaining <= 0:
                    continue
                fault.remaining -= 1
            self._faults_injected[fault.kind] += 1
            return fault.kind
        return None

    def answer(self, wire: bytes, transport: str) -> dns.message.Message | None:
        """The response to the query in ``wire``; None to send nothing (malformed query or a timeout)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        with self._lock:
            self._queries += 1
            self._by_transport[transport] += 1
            if len(query.question) != 1:
                response.set_rcode(dns.rcode.FORMERR)
                self._by_rcode["FORMERR"] += 1
                return response
            question = query.question[0]
            name = zone_name(question.name.to_text())
            qtype = dns.rdatatype.to_text(question.rdtype)
            self._by_qtype[qtype] += 1
            self._by_name[name] += 1
            fault = self._fault_for(name, qtype)
            if fault == "timeout":
                self._dropped += 1
                return None
            if fault == "servfail":
                rcode = dns.rcode.SERVFAIL
            elif fault == "nxdomain" or name not in self._records:
                rcode = dns.rcode.NXDOMAIN
            else:
                rcode = dns.rcode.NOERROR
                self._add_records(response, question, self._records[name])
            response.set_rcode(rcode)
            self._by_rcode[dns.rcode.to_text(rcode)] += 1
        return response

    @staticmethod
    def _add_records(response: dns.message.Message, question: dns.rrset.RRset, ips: list[str]) -> None:
        version = {dns.rdatatype.A: 4, dns.rdatatype.AAAA: 6}.get(question.rdtype)
        matching = [ip for ip in ips if ipaddress.ip_address(ip).version == version]
        if matching:
            rrset = dns.rrset.from_text_list(
                question.name, RECORD_TTL, dns.rdataclass.IN, question.rdtype, matching
            )
            response.answer.append(rrset)

    def count_truncated(self) -> None:
        with self._lock:
            self._truncated += 1


def udp_wire(response: dns.message.Message, query_payload: int) -> tuple[bytes, bool]:
    """``response`` for UDP within the client's payload size; (wire, truncated)."""
    try:
        return response.to_wire(max_size=query_payload), False
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(), True


class _UdpHandler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        data, sock = self.request
        response = self.server.zone.answer(data, "udp")
        if response is None:
            return
        payload = response.request_payload if response.request_payload >= 512 else 512
        wire, truncated = udp_wire(response, payload)
        if truncated:
            self.server.zone.count_truncated()
        sock.sendto(wire, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5.0)
        while True:  # one connection may carry several queries
            try:
                size = _read_exactly(sock, 2)
                if size is None:
                    return
                wire = _read_exactly(sock, struct.unpack("!H", size)[0])
            except OSError:
                return
            if wire is None:
                return
            response = self.server.zone.answer(wire, "tcp")
            if response is None:
                self.server.stopping.wait(HOLD_SECONDS)  # a timeout: hold the client, never answer
                return
            out = response.to_wire()
            sock.sendall(struct.pack("!H", len(out)) + out)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], zone: Zone) -> None:
        self.zone = zone
        self.address_family = family_of(address[0])
        super().__init__(address, _UdpHandler)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], zone: Zone, stopping: threading.Event) -> None:
        self.zone = zone
        self.stopping = stopping
        self.address_family = family_of(address[0])
        super().__init__(address, _TcpHandler)


class DnsServer:
    """The stand-in on ``host`` at one free port (``port=0``) for UDP and TCP. A context manager.

    ``zone`` holds records, faults and counters; :attr:`address` is ``(host, port)`` for
    ``REGQ_DNS_NAMESERVERS`` (:attr:`nameservers_setting` gives the ``ip:port`` text)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, records: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        self.zone = Zone(records)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp, self._tcp = self._bind(host, port)

    def _bind(self, host: str, port: int, tries: int = 20) -> tuple[_UdpServer, _TcpServer]:
        """UDP on ``port`` (a free one for 0), then TCP on the same number; a taken TCP port: try again."""
        for _ in range(tries):
            udp = _UdpServer((host, port), self.zone)
            try:
                return udp, _TcpServer((host, udp.server_address[1]), self.zone, self._stopping)
            except OSError:
                udp.server_close()
                if port:
                    raise
        raise OSError(f"no port free for both UDP and TCP on {host} after {tries} tries")

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._udp.server_address[:2]
        return str(host), int(port)

    @property
    def nameservers_setting(self) -> str:
        """The value for ``REGQ_DNS_NAMESERVERS``."""
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> DnsServer:
        if not self._threads:
            self._stopping.clear()
            for server in (self._udp, self._tcp):
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    daemon=True,
                    name="sandbox-dns",
                )
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and close both sockets (held TCP clients are let go)."""
        self._stopping.set()
        if self._threads:
            self._udp.shutdown()
            self._tcp.shutdown()
            for thread in self._threads:
                thread.join(timeout=5)
            self._threads = []
        self._udp.server_close()
        self._tcp.server_close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
