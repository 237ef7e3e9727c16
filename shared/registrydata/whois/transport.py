"""One WHOIS query over TCP (RFC 3912): connect, send ``query`` + CRLF, read until the server closes.

* The host is resolved once and every address vetted by the outbound policy
  (:func:`shared.http.policy.vetted_addresses`: loopback, private, link-local, CGNAT... refused unless
  ``REGQ_OUTBOUND_ALLOW_PRIVATE``); the socket connects to a vetted address, never to the name again,
  so a second DNS answer cannot point it elsewhere (DNS rebinding).
* Timeouts: ``connect_timeout`` per address tried; ``read_deadline`` for the whole answer (a server
  trickling a byte a second cannot hold a worker for longer than that) -> DeadlineExceeded.
* Size: more than ``max_bytes`` -> ResponseTooLarge (the rest is not read).
* Errors: name not resolving, connection refused or timed out, query not sent -> NotSentError;
  reset or silence after the query left -> TransientError; a reset after part of the answer came
  (a cut-off answer) -> ProtocolError; OutboundRefused passes through.
* Text: UTF-8 when the bytes are valid UTF-8, else Latin-1 (RIPE and others answer in Latin-1: the
  ``servers_charset_list`` of the rfc1036/whois client, https://github.com/rfc1036/whois); Latin-1
  decodes any byte, so nothing is ever lost.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import DeadlineExceeded, NotSentError, ProtocolError, ResponseTooLarge, TransientError
from shared.http.policy import OutboundPolicy, vetted_addresses

#: ``connect((address, port), timeout)`` -> a connected socket; ``socket.create_connection`` by default.
Connector = Callable[[tuple[str, int], float], socket.socket]
_CHUNK = 16 * 1024


@dataclass(frozen=True)
class Limits:
    connect_timeout: float
    read_deadline: float
    max_bytes: int


def decode(raw: bytes) -> str:
    """UTF-8 if ``raw`` is valid UTF-8, else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def resolve(name: str, host: str, port: int, policy: OutboundPolicy) -> list[str]:
    """``host``'s addresses, every one vetted by ``policy`` (OutboundRefused otherwise); NotSentError
    when it does not resolve. Resolved here once: :func:`query` connects to these addresses only."""
    try:
        return vetted_addresses(host, port, policy)
    except socket.gaierror as exc:
        raise NotSentError(f"{host} does not resolve ({exc.strerror})", provider=name) from None


def _connect(name: str, addresses: list[str], port: int, limits: Limits, connect: Connector) -> socket.socket:
    problem: OSError | None = None
    for address in addresses:
        try:
            return connect((address, port), limits.connect_timeout)
        except OSError as exc:  # refused, unreachable, timed out: try the next vetted address
            problem = exc
    kind = "timed out" if isinstance(problem, TimeoutError) else f"failed ({type(problem).__name__})"
    raise NotSentError(f"connection to {name} (port {port}) {kind}", provider=name)


def _read(sock: socket.socket, name: str, limits: Limits) -> bytes:
    deadline = time.monotonic() + limits.read_deadline
    body = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(
                f"no complete answer within {limits.read_deadline:g} s ({len(body)} bytes so far)",
                provider=name,
            )
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(_CHUNK)
        except TimeoutError:
            continue  # the loop head reports the deadline
        except OSError as exc:
            if body:
                raise ProtocolError(
                    f"answer cut off after {len(body)} bytes ({type(exc).__name__})", provider=name
                ) from None
            raise TransientError(
                f"connection lost before any answer ({type(exc).__name__})", provider=name
            ) from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > limits.max_bytes:
            raise ResponseTooLarge(f"answer larger than {limits.max_bytes} bytes", provider=name)


def query(
    name: str,
    addresses: list[str],
    port: int,
    text: str,
    *,
    limits: Limits,
    connect: Connector | None = None,
) -> str:
    """Ask the server called ``name``, at one of its vetted ``addresses`` (:func:`resolve`), ``text``;
    the decoded answer."""
    sock = _connect(name, addresses, port, limits, connect or socket.create_connection)
    with sock:
        try:
            sock.settimeout(limits.connect_timeout)
            sock.sendall(text.encode("utf-8") + b"\r\n")
        except OSError as exc:
            raise NotSentError(f"query not sent ({type(exc).__name__})", provider=name) from None
        raw = _read(sock, name, limits)
    if not raw:
        raise TransientError("the server closed the connection without an answer", provider=name)
    return decode(raw)
