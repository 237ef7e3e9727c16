"""One RDAP HTTP answer -> the decoded object, "not found", or a typed error. No I/O.

Each rule and its source:

* 200 with a JSON object: the answer (RFC 7480 5.1). A 200 that is an RFC 9083 section 6 error body
  (``errorCode``, ``title``, ``description``, no ``objectClassName``) is read as that error.
* 404: the object does not exist, for a domain "not registered" (RFC 7480 5.3) -> None.
* 429 (RFC 7480 5.5): raised as RateLimited by the outbound client before this module sees it.
* 503 with ``Retry-After`` (RFC 7480 5.5, overload) -> RateLimited; without -> TransientError.
* 403 "Number of allowed queries exceeded", 422 "access is too fast"
  (https://github.com/meeb/whoisit/issues/34), or a ``notices`` entry saying so (LACNIC's,
  https://github.com/secynic/ipwhois/issues/99) -> RateLimited, with the wait the text states, else the
  ``Retry-After`` header, else ``defaults.RDAP_RATE_LIMIT_WAIT_SECONDS``.
* other 5xx -> TransientError (the next listed server is tried); other 4xx -> ProtocolError carrying
  the error body's code, title and description.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import ProtocolError, RateLimited, TransientError, UpstreamError
from shared.http.client import HttpResponse
from shared.registrydata.rdap.parse import (
    error_body,
    error_text,
    is_rate_limit_text,
    rate_limit_notice,
    stated_wait,
)


def _decoded(response: HttpResponse) -> Any:
    try:
        return json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _error_for(
    status: int, text: str, response: HttpResponse, default_wait: float, upstream_code: str | None
) -> UpstreamError:
    provider = response.provider
    shown = text or f"HTTP {status}"
    if is_rate_limit_text(text) or status == 429:
        wait = stated_wait(text) or response.retry_after or default_wait
        return RateLimited(
            f"rate limited (HTTP {status}: {shown})",
            provider=provider,
            status=response.status,
            retry_after=wait,
            upstream_code=upstream_code,
        )
    if status == 503 and response.retry_after is not None:
        return RateLimited(
            f"overloaded (HTTP 503: {shown}), retry after {response.retry_after:.0f} s",
            provider=provider,
            status=response.status,
            retry_after=response.retry_after,
            upstream_code=upstream_code,
        )
    if status >= 500:
        return TransientError(
            f"HTTP {status}: {shown}", provider=provider, status=response.status, upstream_code=upstream_code
        )
    return ProtocolError(
        f"HTTP {status}: {shown}", provider=provider, status=response.status, upstream_code=upstream_code
    )


def interpret(response: HttpResponse, default_wait: float) -> dict[str, Any] | None:
    """The RDAP object of ``response``; None for "not found"; a typed error otherwise."""
    status = response.status
    body = _decoded(response)
    error = error_body(body)
    if error is not None:  # the body's errorCode wins over a 200 status (some servers answer 200 + error)
        code, text = error
        effective = code if code is not None and 400 <= code <= 599 else status
        if effective == 404:
            return None
        notice = rate_limit_notice(body)
        if 200 <= effective < 300:
            effective = 429 if notice else 502
        raise _error_for(effective, notice or text, response, default_wait, str(code) if code else None)
    if status == 404:
        return None
    if 200 <= status < 300:
        if not isinstance(body, dict):
            response.json()  # raises the ProtocolError that names the content type
            raise ProtocolError("answer is not a JSON object", provider=response.provider, status=status)
        if "objectClassName" not in body and rate_limit_notice(body):
            raise _error_for(429, rate_limit_notice(body) or "", response, default_wait, None)
        return body
    text = (rate_limit_notice(body) or error_text(body)) if isinstance(body, dict) else ""
    if not text:
        text = " ".join(response.text.split())[:300]  # a plain-text or HTML error page
    raise _error_for(status, text, response, default_wait, None)
