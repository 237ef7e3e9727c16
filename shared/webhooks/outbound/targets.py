"""Where a job's completion webhook may point, checked at submit with the delivery side's own vetting.

The delivery (:mod:`shared.webhooks.outbound.sender`) refuses loopback, private, link-local and other
non-public addresses and plain http unless ``REGQ_WEBHOOK_ALLOW_PRIVATE``; a producer should hear that
when it submits (422 naming ``callback_url``), not find its webhook ``dead`` later. The same policy
(:func:`webhook_policy`) and the same resolution (:func:`shared.http.policy.vetted_addresses`, every
address the name resolves to) are used here.

A name that does not resolve now is accepted: DNS may be briefly down, or the receiver not yet
published, and every delivery attempt resolves, vets and pins the address again (so nothing reaches a
private address through a later answer either). Refusing it would turn a DNS hiccup into lost orders.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.errors import OutboundRefused
from shared.http.policy import vetted_addresses
from shared.settings import Settings
from shared.webhooks.outbound.sender import webhook_policy


def callback_problem(url: str, settings: Settings) -> str | None:
    """Why the delivery would refuse ``url``, else None. Its form is already checked
    (``shared.jobs.check_callback_url``); the API, ``api-token create`` and ``regq submit`` call this."""
    if settings.webhook_allow_private:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https":
        return "must be an https:// URL (plain http needs REGQ_WEBHOOK_ALLOW_PRIVATE)"
    host = parts.hostname or ""
    try:
        vetted_addresses(host, parts.port or 443, webhook_policy(settings))
    except OutboundRefused as exc:
        return f"{exc}"
    except (OSError, UnicodeError):  # does not resolve now: vetted again at every delivery attempt
        return None
    return None
