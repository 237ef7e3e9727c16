"""Signed Gandi domain events, as a registrar would POST them to ``regq api``'s ``/v1/hooks/gandi``.

Where the shape and the scheme come from: Gandi documents no signed webhook for domain events. Its API v5
documentation (api.gandi.net/docs) has no webhook section for domains, and the legacy XML-RPC
"Notification API" (doc.rpc.gandi.net/notification) only manages notification settings; nothing names a
signature header, a secret or an event body. So both are ASSUMPTIONS, the common Stripe-like scheme:

* header ``Gandi-Signature: t=<unix seconds>,v1=<hex>``, ``v1`` = HMAC-SHA256 keyed with the shared secret
  (regq's ``REGQ_GANDI_WEBHOOK_SECRET``) over ``"<t>.<raw body>"``;
* body ``{"id", "type", "created_at", "data": {"fqdn", "dates": {"registry_ends_at"}}}``, the names
  inside ``data`` being those of Gandi v5's domain object (``GET /domain/domains/{fqdn}``);
* types ``domain.renewed`` (renewed at Gandi, not through regq), ``domain.expiry_changed`` (the
  registry's date corrected) and ``domain.transferred_out`` (the domain left the account).

This module signs on its own (stdlib only, like the rest of the sandbox) instead of importing regq's
verifier, so a test through it checks regq against an independent implementation of the scheme.

``python -m sandbox.gandi_events URL renewed example.com --expires 2028-03-01`` sends one event (the
secret from ``REGQ_GANDI_WEBHOOK_SECRET`` or ``--secret``) and prints the status and the answer.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

HEADER = "Gandi-Signature"
RENEWED, EXPIRY_CHANGED, TRANSFERRED_OUT = "domain.renewed", "domain.expiry_changed", "domain.transferred_out"
KINDS = {"renewed": RENEWED, "expiry-changed": EXPIRY_CHANGED, "transferred-out": TRANSFERRED_OUT}


def event(
    event_type: str,
    fqdn: str,
    expires: date | None = None,
    *,
    event_id: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """One event body (a dict; :func:`encode` gives its bytes)."""
    data: dict[str, Any] = {"fqdn": fqdn}
    if expires is not None:
        data["dates"] = {"registry_ends_at": f"{expires.isoformat()}T00:00:00Z"}
    moment = (created_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
    }


def renewed_elsewhere(fqdn: str, new_expiry: date, **kwargs: Any) -> dict[str, Any]:
    return event(RENEWED, fqdn, new_expiry, **kwargs)


def expiry_changed(fqdn: str, new_expiry: date, **kwargs: Any) -> dict[str, Any]:
    return event(EXPIRY_CHANGED, fqdn, new_expiry, **kwargs)


def transferred_away(fqdn: str, **kwargs: Any) -> dict[str, Any]:
    return event(TRANSFERRED_OUT, fqdn, **kwargs)


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def sign(secret: str, raw: bytes, timestamp: int) -> str:
    """The ``Gandi-Signature`` value for ``raw`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class Delivery:
    status: int
    answer: dict[str, Any]


def send(
    url: str,
    secret: str,
    body: dict[str, Any] | bytes,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10,
) -> Delivery:
    """POST ``body`` to ``url`` signed with ``secret`` at ``timestamp`` (now), or with the given
    ``signature`` header value instead (to send a wrong one); the HTTP status and the JSON answer."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    raw = body if isinstance(body, bytes) else encode(body)
    header = (
        signature
        if signature is not None
        else sign(secret, raw, int(time.time()) if timestamp is None else timestamp)
    )
    request = urllib.request.Request(
        url, data=raw, method="POST", headers={"Content-Type": "application/json", HEADER: header}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Delivery(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            answer = {"text": text.decode(errors="replace")}
        return Delivery(exc.code, answer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.gandi_events", description=__doc__.splitlines()[0]
    )
    parser.add_argument("url", help="e.g. http://127.0.0.1:8080/v1/hooks/gandi")
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("fqdn")
    parser.add_argument("--expires", type=date.fromisoformat, help="YYYY-MM-DD (renewed, expiry-changed)")
    parser.add_argument("--event-id")
    parser.add_argument("--secret", default=os.environ.get("REGQ_GANDI_WEBHOOK_SECRET"))
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("no secret: set REGQ_GANDI_WEBHOOK_SECRET or pass --secret")
    if args.kind != "transferred-out" and args.expires is None:
        parser.error(f"{args.kind} needs --expires")
    body = event(KINDS[args.kind], args.fqdn, args.expires, event_id=args.event_id)
    delivery = send(args.url, args.secret, body)
    print(json.dumps({"status": delivery.status, "event_id": body["id"], "answer": delivery.answer}))
    return 0 if delivery.status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
