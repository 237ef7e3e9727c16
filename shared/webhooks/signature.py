"""The webhook signature scheme, both ways. Copy this file into your receiver: it needs only the standard
library.

    from signature import verify
    if not verify(raw_body, request.headers.get("Regq-Signature"), "whsec_..."):
        return 400

The scheme is Stripe's: the header is ``t=<unix seconds>,v1=<hex>`` with one ``v1`` per secret the
sender signs with (several while a secret is rotated); ``v1`` is hex HMAC-SHA256 keyed with the whole
secret string (UTF-8), over ``"<t>.<body>"``: the timestamp, a dot and the exact bytes of the body.

Check the RAW body bytes as received (before any JSON parsing): a re-encoded body does not match. The
signature is checked first, in constant time (``hmac.compare_digest``, every candidate compared), then
the timestamp: a signature whose ``t`` is more than ``tolerance`` seconds (5 minutes) away from now,
either way, is stale, so a captured request cannot be replayed later; within the window, de-duplicate on
the payload's ``id`` (deliveries are at least once). A ``v1`` that is not 64 lower-case hex digits never
matches; other schemes (``v0``, later versions) are ignored, as Stripe's libraries do. Give ``secret`` a
list to accept several of your own secrets (yours being rotated).

regq signs its completion webhooks with :func:`signature_header` (``shared/webhooks/outbound``) and
checks the registrars' webhooks, signed the same way under their own header name, with :func:`check`
(``shared/webhooks/inbound``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "Regq-Signature"
TOLERANCE_SECONDS = 300
MAX_HEADER = 4096
#: at most this many ``v1`` values are compared (each is an HMAC of the whole body)
MAX_SIGNATURES = 8
_MAX_TIMESTAMP_DIGITS = 12
_HEX = frozenset("0123456789abcdef")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` value: hex HMAC-SHA256(secret, ``"<timestamp>.<body>"``)."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The header value for ``body``: ``t=<unix>`` (now unless given) then one ``v1=`` per secret."""
    if not secrets:
        raise ValueError("a webhook is never sent unsigned: give at least one secret")
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={signature(secret, t, body)}" for secret in secrets)])


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found. ``problem`` is None when the header signs the body in time; ``stale``
    says the signature matched but its time is outside the tolerance; ``timestamp`` is the header's
    ``t`` whenever the header could be read."""

    problem: str | None
    stale: bool = False
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _parse(header: str) -> tuple[int, list[str]] | str:
    """(timestamp, v1 values) or why the header is malformed."""
    if len(header) > MAX_HEADER:
        return "signature header too long"
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            return "malformed signature header: expected t=<unix>,v1=<hex>"
        if name == "t":
            digits = value.isascii() and value.isdigit() and len(value) <= _MAX_TIMESTAMP_DIGITS
            if timestamp is not None or not digits:
                return "malformed signature header: t must be one integer"
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None:
        return "malformed signature header: no timestamp (t=)"
    if len(signatures) > MAX_SIGNATURES:
        return f"malformed signature header: more than {MAX_SIGNATURES} v1 signatures"
    signatures = [s for s in signatures if len(s) == 64 and set(s) <= _HEX]
    if not signatures:
        return "malformed signature header: no v1 signature (64 lower-case hex digits)"
    return timestamp, signatures


def check(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Verdict:
    """Whether ``header`` signs ``body`` with ``secret`` (any of them, given several), then whether in
    time: the signature first, so "stale" is only ever said of an authentic request."""
    if not header:
        return Verdict("no signature header")
    parsed = _parse(header)
    if isinstance(parsed, str):
        return Verdict(parsed)
    timestamp, signatures = parsed
    keys = [secret] if isinstance(secret, str) else list(secret)
    found = False
    for key in keys:
        expected = signature(key, timestamp, body)
        for candidate in signatures:  # every pair is compared: no early exit to time
            found |= hmac.compare_digest(expected, candidate)
    if not found:
        return Verdict("no v1 signature matches", timestamp=timestamp)
    skew = (time.time() if now is None else now) - timestamp
    if abs(skew) > tolerance:
        when = "ago" if skew > 0 else "in the future"
        problem = f"signed {abs(skew):.0f} s {when}: outside the {tolerance:.0f} s tolerance"
        return Verdict(problem, stale=True, timestamp=timestamp)
    return Verdict(None, timestamp=timestamp)


def signature_problem(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> str | None:
    """Why ``header`` does not sign ``body`` with ``secret`` in time, else None."""
    return check(body, header, secret, tolerance, now).problem


def verify(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` (the ``Regq-Signature`` value) signs ``body`` with ``secret``, in time."""
    return check(body, header, secret, tolerance, now).ok
