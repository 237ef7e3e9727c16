"""Server side of HTTP Digest authentication (RFC 7616 / 2617), MD5 with ``qop="auth"``.

Checks the username, realm, opaque, that the nonce is one this server issued and has not expired, that the
``uri`` is the request target, and the response hash. ``nc`` is not checked for replays (a client retrying
the very same header after a dropped connection stays accepted). ``requests.auth.HTTPDigestAuth`` works
against it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from urllib.request import parse_http_list, parse_keqv_list

NONCE_TTL = 900.0
MAX_NONCES = 50_000


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class DigestAuthority:
    """Issues challenges and verifies ``Authorization: Digest ...`` headers for one user."""

    def __init__(self, realm: str, username: str, password: str, nonce_ttl: float = NONCE_TTL) -> None:
        self.realm = realm
        self._username = username
        self._ha1 = _md5(f"{username}:{realm}:{password}")
        self._opaque = secrets.token_hex(16)
        self._ttl = nonce_ttl
        self._nonces: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def challenge(self, stale: bool = False) -> str:
        """A fresh ``WWW-Authenticate`` value."""
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = time.monotonic()
            while len(self._nonces) > MAX_NONCES:
                self._nonces.popitem(last=False)
        value = (
            f'Digest realm="{self.realm}", nonce="{nonce}", opaque="{self._opaque}", '
            f'qop="auth", algorithm=MD5'
        )
        return value + (", stale=true" if stale else "")

    def verify(self, method: str, target: str, header: str | None) -> str:
        """``"ok"``, ``"stale"`` (good credentials, a nonce not issued here or expired) or ``"denied"``."""
        if not header or not header[:7].lower() == "digest ":
            return "denied"
        try:
            fields = parse_keqv_list(parse_http_list(header[7:]))
        except ValueError:
            return "denied"
        nonce = fields.get("nonce", "")
        if fields.get("username") != self._username or fields.get("realm") != self.realm:
            return "denied"
        if fields.get("algorithm", "MD5").upper() != "MD5" or fields.get("qop") != "auth":
            return "denied"
        if "opaque" in fields and fields["opaque"] != self._opaque:
            return "denied"
        if fields.get("uri") != target or not fields.get("cnonce") or not fields.get("nc"):
            return "denied"
        ha2 = _md5(f"{method}:{target}")
        expected = _md5(f"{self._ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        if not hmac.compare_digest(expected, fields.get("response", "")):
            return "denied"
        with self._lock:
            issued = self._nonces.get(nonce)
        if issued is None or time.monotonic() - issued > self._ttl:
            return "stale"
        return "ok"
