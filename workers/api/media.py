"""Which ``Content-Type`` each body-taking endpoint accepts; anything else is 415 before the route runs.

A form post (``curl -d``, whose ``application/x-www-form-urlencoded`` label and stripped newlines would
otherwise reach the JSON parser) is told what to send instead of being misread:

- ``POST /v1/jobs`` and ``POST /v1/domains/{domain}/auth-code``: ``application/json``;
- ``POST /v1/jobs:batch``: ``application/json`` (an array) or NDJSON, one job a line, under the labels
  in use: ``application/x-ndjson`` (https://github.com/ndjson/ndjson-spec), ``application/ndjson`` and
  ``application/jsonl`` (https://jsonlines.org/). Before this check the batch took any label (it sniffs
  a leading ``[``), so these are the labels its clients send.

A ``charset`` parameter is accepted when it is ``utf-8`` (JSON is UTF-8: RFC 8259 section 8.1); another
charset is 415 too. A request without a body (no ``Content-Length`` or 0, no ``Transfer-Encoding``) is
not checked: the auth-code read takes an optional body. A body without a ``Content-Type`` is 415 (RFC
9110 section 8.3 lets a server assume ``application/octet-stream``, which no endpoint takes).

Not checked: ``POST /v1/hooks/{registrar}``. The registrar picks its label, the HMAC signature covers
the raw bytes whatever the label, and a refused delivery would be retried by the registrar forever; the
body is parsed as JSON after the signature is verified (400 ``malformed`` otherwise). Unknown paths and
methods are left to the router (404, 405).

The 415 is a problem (:mod:`workers.api.problems`) whose ``detail`` names the header and the types the
endpoint takes; ``Accept-Post`` lists them too (https://www.w3.org/TR/ldp/#header-accept-post).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from workers.api.problems import problem

JSON = ("application/json",)
BATCH = ("application/json", "application/x-ndjson", "application/ndjson", "application/jsonl")
#: (path pattern, accepted media types) of every POST that takes a body the API parses.
ACCEPTED: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/v1/jobs"), JSON),
    (re.compile(r"/v1/jobs:batch"), BATCH),
    (re.compile(r"/v1/domains/[^/]+/auth-code"), JSON),
)


def accepted_types(method: str, path: str) -> tuple[str, ...] | None:
    """The media types a ``method`` request to ``path`` may carry, or None when it is not checked here."""
    if method != "POST":
        return None
    for pattern, types in ACCEPTED:
        if pattern.fullmatch(path):
            return types
    return None


def media_problem(content_type: str | None, accepted: tuple[str, ...]) -> str | None:
    """Why ``content_type`` is refused (None: accepted): the essence must be one of ``accepted`` and a
    charset, if given, utf-8."""
    wanted = " or ".join(accepted)
    if not content_type or not content_type.strip():
        return f"Content-Type is missing: send Content-Type: {wanted}"
    essence, *parameters = (part.strip() for part in content_type.split(";"))
    if essence.lower() not in accepted:
        return f"Content-Type {essence[:100]!r} is not accepted here: send Content-Type: {wanted}"
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return f"charset {value.strip()[:40]!r} is not accepted: JSON is UTF-8 (RFC 8259 section 8.1)"
    return None


def _has_body(headers: dict[bytes, bytes]) -> bool:
    if b"transfer-encoding" in headers:
        return True
    length = headers.get(b"content-length", b"").strip()
    return bool(length) and length != b"0"


class ContentTypeGuard:
    """ASGI middleware: a POST whose body's Content-Type its endpoint does not take is answered 415."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            accepted = accepted_types(scope["method"], scope["path"])
            if accepted is not None:
                headers = dict(scope["headers"])
                if _has_body(headers):
                    raw = headers.get(b"content-type")
                    why = media_problem(raw.decode("latin-1") if raw is not None else None, accepted)
                    if why is not None:
                        answer = problem(415, why, headers={"Accept-Post": ", ".join(accepted)})
                        await answer(scope, receive, send)
                        return
        await self.app(scope, receive, send)
