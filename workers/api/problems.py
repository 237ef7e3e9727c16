"""Every API error is an RFC 9457 problem (``application/problem+json``), built and installed here only.

Shape (https://www.rfc-editor.org/rfc/rfc9457#section-3): ``type`` (a URI naming the kind of problem;
``about:blank`` when the HTTP status says it all), ``title`` (short, the same for every problem of a
type; for ``about:blank`` the status's reason phrase, RFC 9457 section 4.2.1), ``status`` (the HTTP
status), ``detail`` (this occurrence, human-readable), plus two extension members: ``errors`` (one
``{loc, msg}`` per bad field, validation only) and ``key`` (the existing job's key, conflicts only).
Members that do not apply are left out, not null. A few problems carry more extension members
(RFC 9457 section 3.2), named below.

The types regq uses (stable: a client may switch on them):

- ``urn:regq:problem:validation`` (422): the request is refused field by field: ``errors`` names each
  (``loc`` as FastAPI gives it: ``["body", "owner", "email"]``, ``["query", "cursor"]``,
  ``["header", "Idempotency-Key"]``, ``["path", "domain"]``).
- ``urn:regq:problem:batch-refused`` (422): ``POST /v1/jobs:batch`` whose every line was refused (or
  that has no line): ``errors`` with ``loc`` ``["body", <line>, ...]``, and the members of a 200 answer
  (``accepted`` 0, ``refused``, ``results``) so one parser reads both.
- ``urn:regq:problem:idempotency-conflict`` (409): the key is taken (by this owner with another body,
  or by another owner whatever its body); ``key`` names it.
- ``urn:regq:problem:rate-limited`` (429): a token's bucket, the failed-authentication throttle or a
  hook source's bucket; ``Retry-After`` in whole seconds.
- ``urn:regq:problem:unavailable`` (503): our store, Redis, a registrar's breaker or our limiter says
  wait; ``Retry-After``. ``GET /v1/lookup`` adds ``domain``, ``partial``, ``reason``, ``retry_after``;
  ``GET /v1/health`` adds ``ok`` and ``checks``.
- ``urn:regq:problem:token-in-url`` (400): an API token in the query string (the value is never echoed).
- ``urn:regq:problem:hook-refused`` (400, 401, 404, 413, 503 of ``POST /v1/hooks/{registrar}``; its
  429 is ``rate-limited``): the receipt's members ``outcome``, ``action``, ``event_id``, ``receipt`` are
  kept beside ``detail``.
- ``about:blank`` for the rest: 401 (with ``WWW-Authenticate: Bearer``), 403, 404 (unknown job, domain or
  route), 405 (with ``Allow``), 409 of the auth-code read (the registrar has none), 413, 415
  (:mod:`workers.api.media`), 500, 502.

Handlers (:func:`install`): Starlette's ``HTTPException`` (FastAPI's is a subclass, and the router's own
404/405 are Starlette's), ``RequestValidationError``, :class:`workers.api.answers.Invalid`,
``BackendUnavailable`` and a lost database connection (503), and a catch-all 500 whose body says only
that something failed on our side (no traceback, no exception text: the log has it). Route bodies that
answer an error themselves build it with :func:`problem` (:func:`invalid`, :func:`conflict`); an
``HTTPException`` of status 429 or 503 gets its type from :data:`TYPE_OF_STATUS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import BackendUnavailable
from shared.http.redact import get_logger
from shared.jobs_base import KEY_CHARACTERS

MEDIA_TYPE = "application/problem+json"

VALIDATION = "urn:regq:problem:validation"
BATCH_REFUSED = "urn:regq:problem:batch-refused"
IDEMPOTENCY_CONFLICT = "urn:regq:problem:idempotency-conflict"
RATE_LIMITED = "urn:regq:problem:rate-limited"
UNAVAILABLE = "urn:regq:problem:unavailable"
TOKEN_IN_URL = "urn:regq:problem:token-in-url"
HOOK_REFUSED = "urn:regq:problem:hook-refused"
BLANK = "about:blank"

TITLES = {
    VALIDATION: "The request is not valid",
    BATCH_REFUSED: "Every job of the batch was refused",
    IDEMPOTENCY_CONFLICT: "The idempotency key is already in use",
    RATE_LIMITED: "Too many requests",
    UNAVAILABLE: "Temporarily unavailable",
    TOKEN_IN_URL: "API token in the URL",
    HOOK_REFUSED: "Webhook refused",
}
#: The type a bare ``HTTPException`` of this status gets (any other status: ``about:blank``).
TYPE_OF_STATUS = {429: RATE_LIMITED, 503: UNAVAILABLE}

#: What an unreachable store or Redis answers: a client's retry after this finds it back, or not.
UNAVAILABLE_RETRY_AFTER = "5"

#: Clearer words than a regular expression for header checks FastAPI makes from the parameters' patterns.
#: ``Idempotency-Key`` says what the body's ``idempotency_key`` says (shared.jobs_base.KEY_CHARACTERS).
HEADER_MESSAGES = {"Idempotency-Key": KEY_CHARACTERS}

#: What the router's own refusals say (no path echoed: it may be long or carry anything).
ROUTER_DETAILS = {
    404: "no such endpoint (GET /openapi.json lists them)",
    405: "this endpoint does not take this method (the Allow header lists those it takes)",
}

log = get_logger("regq.api.problems")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where: ["body", "owner", "email"], ["query", "limit"]')
    msg: str = Field(description="Why it was refused")


class Problem(BaseModel):
    type: str = Field("about:blank", description="A URI naming the kind of problem")
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(None, description="What happened this time")
    errors: list[FieldError] | None = Field(None, description="Validation problems, one per field")
    key: str | None = Field(None, description="Conflicts: the key of the job that already exists")


def problem(
    status: int,
    detail: str | None = None,
    *,
    type: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The ``application/problem+json`` answer; ``extensions`` are added as they are (None included)."""
    kind = type or TYPE_OF_STATUS.get(status, BLANK)
    title = TITLES.get(kind) or _phrase(status)
    body = Problem(
        type=kind,
        title=title,
        status=status,
        detail=detail,
        errors=[FieldError(loc=list(e["loc"]), msg=str(e["msg"])) for e in errors] if errors else None,
        key=key,
    ).model_dump(exclude_none=True)
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


def invalid(entries: Sequence[Mapping[str, Any]], detail: str | None = None) -> JSONResponse:
    """422 ``validation``: one ``{loc, msg}`` per bad field."""
    return problem(422, detail or _summary(entries), type=VALIDATION, errors=entries)


def conflict(key: str, msg: str) -> JSONResponse:
    """409 ``idempotency-conflict`` naming the key."""
    return problem(409, msg, type=IDEMPOTENCY_CONFLICT, key=key)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem (FastAPI's defaults answer ``{"detail": ...}``)."""
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    from workers.api.answers import Invalid  # answers imports this module's helpers

    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(BackendUnavailable, _unavailable)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _unavailable)
    app.add_exception_handler(Exception, _internal)  # Starlette's ServerErrorMiddleware: the outermost


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _summary(entries: Sequence[Mapping[str, Any]]) -> str:
    if len(entries) == 1:
        where = ".".join(str(part) for part in entries[0]["loc"])
        return f"{where}: {entries[0]['msg']}"
    return f"{len(entries)} problems: see errors"


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail == _phrase(exc.status_code):  # the router's own 404/405 say only the phrase
        detail = ROUTER_DETAILS.get(exc.status_code, detail)
    return problem(exc.status_code, detail, headers=exc.headers)


def validation_entries(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors as ``{loc, msg}`` (without ``input``: it may be a secret)."""
    entries = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if len(loc) == 2 and loc[0] == "header" and error.get("type") == "string_pattern_mismatch":
            msg = HEADER_MESSAGES.get(str(loc[1]), msg)
        entries.append({"loc": loc, "msg": msg})
    return entries


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid(validation_entries(exc.errors()))


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    return invalid(getattr(exc, "entries", []))


async def _unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return problem(
        503, "temporarily unavailable: retry later", headers={"Retry-After": UNAVAILABLE_RETRY_AFTER}
    )


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # The traceback reaches the log (Starlette re-raises after this answer); the body names nothing of it.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem(500, "an internal error on our side: retry later, or report it with the time")
