"""Signing completion webhooks like Stripe: ``Regq-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]``.

``v1`` is the hex HMAC-SHA256, keyed with the whole secret string (``whsec_...``), of
``"<t>.<body>"``: the timestamp, a dot and the exact bytes of the body. While a secret is being rotated
the sender signs with each of its secrets (one ``v1`` each) and a receiver accepts any it knows
(:mod:`shared.webhooks.verify`). A fresh ``t`` is signed on every attempt; the body stays the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "Regq-Signature"
EVENT_ID_HEADER = "Regq-Event-Id"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: ``whsec_`` and 32 random bytes (URL-safe base64)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` value: hex HMAC-SHA256(secret, ``"<timestamp>.<body>"``)."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(keys: Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The ``Regq-Signature`` value for ``body``: ``t=<unix>`` then one ``v1=`` per secret in ``keys``."""
    if not keys:
        raise ValueError("a webhook is never sent unsigned: give at least one secret")
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={signature(key, t, body)}" for key in keys)])
