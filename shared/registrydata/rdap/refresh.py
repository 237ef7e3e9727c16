"""Refreshing the IANA bootstrap: what the weekly maintenance task calls.

``refresh_bootstrap(settings, audit, policy)`` fetches ``dns.json``, ``ipv4.json`` and ``ipv6.json`` from
REGQ_RDAP_BOOTSTRAP_URL (default https://data.iana.org/rdap/) and stores each in the
:mod:`~shared.registrydata.rdap.store` (Redis key, else a file under var/). It honours
``Cache-Control: max-age`` (IANA sends ``max-age=86400``: the data.iana.org answers recorded in
meeb/whoisit tests/responses/boostrap.yaml): a stored copy still fresh is
not fetched again unless ``force``; ``no-cache``/``no-store`` make it stale at once. A body that is not a
valid RFC 9224 registry is refused and the previous copy kept. A directory override is never refreshed.
Every running process picks the new copy up within ``RDAP_BOOTSTRAP_RECHECK_SECONDS``
(:class:`~shared.registrydata.rdap.bootstrap.BootstrapSource`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from shared import defaults
from shared.audit import AuditSink
from shared.errors import ProtocolError, RegqError, TransientError
from shared.http.client import HttpResponse, OutboundClient
from shared.http.policy import normalize_host, policy_for
from shared.registrydata.rdap.bootstrap import FILES, Bootstrap, BootstrapError, bootstrap_directory
from shared.registrydata.rdap.client import RATE_CLASS
from shared.registrydata.rdap.store import BootstrapStore, StoredFile, store_for
from shared.settings import Settings
from shared.upstream.policy import CallPolicy

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def max_age(cache_control: str | None, default: float = defaults.RDAP_BOOTSTRAP_MAX_AGE_SECONDS) -> float:
    """Seconds of freshness a ``Cache-Control`` value grants (RFC 9111 5.2.2.1); ``no-store``/``no-cache``
    -> 0; absent or without max-age -> ``default``."""
    if not cache_control:
        return default
    if re.search(r"\bno-(?:store|cache)\b", cache_control, re.IGNORECASE):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else default


def _document(response: HttpResponse) -> object:
    if response.status >= 500:
        raise TransientError(f"HTTP {response.status}", provider=response.provider, status=response.status)
    if response.status != 200:
        raise ProtocolError(f"HTTP {response.status}", provider=response.provider, status=response.status)
    return response.json()


def refresh_bootstrap(
    settings: Settings,
    audit: AuditSink,
    policy: CallPolicy | None,
    store: BootstrapStore | None = None,
    *,
    force: bool = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, str]:
    """Refresh each stale file; ``{file: "refreshed" | "fresh" | "directory" | "failed: reason"}``."""
    if bootstrap_directory(settings) is not None:
        return dict.fromkeys(FILES, "directory")  # read as is, never refreshed
    store = store if store is not None else store_for(settings)
    base = settings.rdap_bootstrap_url.rstrip("/") + "/"
    host = normalize_host(urlsplit(base).hostname or "")
    calls = policy if policy is not None else CallPolicy()
    calls.route(host, RATE_CLASS)
    client = OutboundClient(
        host,
        policy_for(base, settings, max_bytes=defaults.RDAP_MAX_RESPONSE_BYTES),
        audit,
        tries=settings.http_tries,
        sleep=sleep,
    )
    report: dict[str, str] = {}
    try:
        for name in FILES:
            stored = store.load(name)
            if stored is not None and not force and stored.fresh(clock()):
                report[name] = "fresh"
                continue
            url = urljoin(base, name)
            try:
                response = client.request("GET", url, operation="bootstrap", idempotent=True, policy=calls)
                document = _document(response)
                Bootstrap.from_documents(_with_others(name, document), "check")  # validate before storing
            except (RegqError, BootstrapError) as exc:
                report[name] = f"failed: {exc}"
                continue
            age = max_age(response.header("Cache-Control"))
            store.save(name, StoredFile(url, clock(), age, document))
            report[name] = "refreshed"
    finally:
        client.close()
    return report


def _with_others(name: str, document: object) -> dict[str, object]:
    """``document`` as ``name`` with empty other registries, to validate one file on its own."""
    empty: dict[str, list[object]] = {"services": []}
    return {other: (document if other == name else empty) for other in FILES}
