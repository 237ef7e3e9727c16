"""Verify a regq completion webhook. Copy this file into your receiver: it needs only the standard library.

    from verify import verify
    if not verify(raw_body, request.headers.get("Regq-Signature"), "whsec_..."):
        return 400

Check the RAW body bytes as received (before any JSON parsing): a re-encoded body does not match.
The header is ``t=<unix seconds>,v1=<hex>`` with one ``v1`` per secret the sender signs with (several
while a secret is rotated); ``v1`` is hex HMAC-SHA256 keyed with the whole secret string, over
``"<t>.<body>"``. A signature whose ``t`` is more than ``tolerance`` seconds (5 minutes) away from now is
refused, so a captured request cannot be replayed later; within the window, de-duplicate on the
payload's ``id`` (deliveries are at least once). Comparison is constant-time (``hmac.compare_digest``).
Give ``secret`` a list to accept several of your own secrets (yours being rotated).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

TOLERANCE_SECONDS = 300
_MAX_HEADER = 4096


def _parse(header: str) -> tuple[int, list[str]] | str:
    """(timestamp, v1 values) or why the header is malformed."""
    if len(header) > _MAX_HEADER:
        return "signature header too long"
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            return "malformed signature header: expected t=<unix>,v1=<hex>"
        if name == "t":
            if timestamp is not None or not value.isdigit() or not value.isascii():
                return "malformed signature header: t must be one integer"
            timestamp = int(value)
        elif name == "v1":
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                return "malformed signature header: v1 must be 64 hex digits"
            signatures.append(value)
        # other schemes (v0, future versions) are ignored, as Stripe's libraries do
    if timestamp is None:
        return "malformed signature header: no timestamp (t=)"
    if not signatures:
        return "malformed signature header: no v1 signature"
    return timestamp, signatures


def signature_problem(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> str | None:
    """Why ``header`` does not sign ``body`` with ``secret`` (any of them, given several), else None."""
    if not header:
        return "no signature header"
    parsed = _parse(header)
    if isinstance(parsed, str):
        return parsed
    timestamp, signatures = parsed
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return f"signature timestamp outside the {int(tolerance)} s tolerance"
    keys = [secret] if isinstance(secret, str) else list(secret)
    message = str(timestamp).encode("ascii") + b"." + body
    found = False
    for key in keys:
        expected = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
        for candidate in signatures:  # every pair is compared: no early exit to time
            found |= hmac.compare_digest(expected, candidate)
    return None if found else "no v1 signature matches"


def verify(
    body: bytes,
    header: str | None,
    secret: str | Sequence[str],
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` (the ``Regq-Signature`` value) signs ``body`` with ``secret``, in time."""
    return signature_problem(body, header, secret, tolerance, now) is None
