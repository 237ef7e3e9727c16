"""Safe outbound HTTP: SSRF policy with address pinning, size cap, retries, audit, secret redaction.

Modules: :mod:`.policy` (what may be reached), :mod:`.pinning` (connect only to vetted addresses),
:mod:`.client` (``OutboundClient``, ``RequestPolicy``, ``HttpResponse``), :mod:`.translate` (transport
exceptions -> typed errors), :mod:`.retry_after`, :mod:`.redact`.
"""

from shared.http.client import HttpResponse, OutboundClient, RequestPolicy
from shared.http.policy import OutboundPolicy, check_url, policy_for, vetted_addresses
from shared.http.redact import (
    RedactingFilter,
    get_logger,
    install_redaction,
    redact,
    redact_mapping,
    register_secret,
    scrub_upstream_text,
)
from shared.http.retry_after import parse_retry_after
from shared.http.translate import translate_errors

__all__ = [
    "HttpResponse",
    "OutboundClient",
    "OutboundPolicy",
    "RedactingFilter",
    "RequestPolicy",
    "check_url",
    "get_logger",
    "install_redaction",
    "parse_retry_after",
    "policy_for",
    "redact",
    "redact_mapping",
    "register_secret",
    "scrub_upstream_text",
    "translate_errors",
    "vetted_addresses",
]
