"""``POST /v1/jobs`` and ``POST /v1/jobs:batch``: the same job models and submit path as ``tasks.publish``.

Idempotency keys are global (one job per key, whoever submits it: the registrar effect is once per key).
A key another owner already used is answered 409 "already in use" whatever its parameters, with no
status, result or parameters of that job: the same answer for a duplicate and a conflict, so a guess at
another producer's order learns nothing but that the key is taken (its own keys answer as before:
200 duplicate or 409 naming the conflict). A ``callback_url`` the delivery would refuse (a private,
loopback or link-local address, plain http) is refused here, 422, unless ``REGQ_WEBHOOK_ALLOW_PRIVATE``.

``POST /v1/jobs`` crosses into the threadpool ONCE (issue 21; it crossed twice, then three times with a
callback URL): the body is read on the event loop (up to the cap, no further), then one worker thread
checks the token (:func:`workers.api.auth.admit`) and does the rest. The answers keep their order, 401
before any answer about the body: 401 / 429 (blocked address) / 403 / 429 (the token's bucket), then
422 for a malformed ``Idempotency-Key`` header (checked here against the schema the document shows, no
longer by FastAPI before the token), then 413, then 422 for the body. What changed: an unauthenticated
request's body is now read (at most the cap) before its 401; it was left unread. ``POST /v1/jobs:batch``
keeps the dependency (its body may be 10,000 lines: the token is checked before it is read).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import StringConstraints, TypeAdapter, ValidationError, WithJsonSchema

from shared import defaults
from shared.errors import IdempotencyConflict, JobValidationError
from shared.jobs import MAX_KEY_LENGTH, AnyJob, JobOutcome, parse_job
from shared.settings import Settings
from shared.store.api_tokens import ApiToken
from shared.webhooks.outbound.targets import callback_problem
from tasks.publish import submit, submit_many
from tasks.runtime import Runtime
from workers.api.answers import invalid, location, outcome_json, problems, too_large
from workers.api.auth import admit, require, runtime_of
from workers.api.hooks import read_capped
from workers.api.media import BATCH
from workers.api.openapi import AUTHENTICATED, LOCATION, TOKEN_ERRORS, errors
from workers.api.problems import BATCH_REFUSED, conflict, problem, validation_entries
from workers.api.queries import owners_of
from workers.api.schemas import BatchAnswer, BatchRefusedProblem
from workers.jsonlines import split_lines

MAX_BATCH_LINES = defaults.API_MAX_BATCH_LINES
JOB_REF = {"$ref": "#/components/schemas/Job"}
_KEY_PATTERN = r"^[\x20-\x7e]+$"
#: The ``Idempotency-Key`` header as the document shows it; checked by :data:`_HEADER_KEY` after the token.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": _KEY_PATTERN}
_HEADER_KEY: TypeAdapter[str] = TypeAdapter(
    Annotated[str, StringConstraints(max_length=MAX_KEY_LENGTH, pattern=_KEY_PATTERN)]
)

router = APIRouter()
can_submit = Depends(require("submit"))


def taken_message(key: str) -> str:
    return f"idempotency key {key!r} is already in use: choose another key"


def _foreign(token: ApiToken, owners: dict[str, str | None], key: str) -> bool:
    return not token.admin and key in owners and owners[key] != token.owner


def _callback_entry(job: AnyJob, settings: Settings, seen: dict[str, str | None]) -> dict[str, Any] | None:
    url = job.callback_url
    if url is None:
        return None
    if url not in seen:
        seen[url] = callback_problem(url, settings)
    problem = seen[url]
    return {"loc": ["body", "callback_url"], "msg": problem} if problem else None


async def _read_body(request: Request, cap: int) -> bytes:
    body = await read_capped(request, cap)
    if body is None:
        raise too_large(cap)
    return body


@router.post(
    "/v1/jobs",
    status_code=201,
    operation_id="submit_job",
    summary="Submit one job",
    response_model=JobOutcome,
    response_description="a new job",
    responses={
        200: {"model": JobOutcome, "description": "the same key and body again: the existing job"},
        201: {"headers": LOCATION},
        **errors(
            *TOKEN_ERRORS,
            409,
            413,
            415,
            said={409: "the key is taken: by this producer with another body, or by another producer"},
        ),
    },
    openapi_extra={
        **AUTHENTICATED,
        "requestBody": {"required": True, "content": {"application/json": {"schema": JOB_REF}}},
    },
)
async def create_job(
    request: Request,
    idempotency_key: Annotated[str, WithJsonSchema(IDEMPOTENCY_KEY_SCHEMA)] | None = Header(
        None, alias="Idempotency-Key"
    ),
) -> JSONResponse:
    """Submit one job; ``Idempotency-Key`` is its key when the body has none. 201 new, 200 the same
    job again (same key, same body), 409 the key with another body (or any key another producer
    used), 422 one entry per bad field."""
    rt = runtime_of(request)
    body = await read_capped(request, rt.settings.api_max_body_bytes)  # None: past the cap (answered later)
    return await run_in_threadpool(_create_job, request, rt, body, idempotency_key)


def _create_job(
    request: Request, rt: Runtime, body: bytes | None, idempotency_key: str | None
) -> JSONResponse:
    """Everything of ``POST /v1/jobs`` after the body is read, in ONE worker thread: the token, then the
    answers about the request in the order FastAPI's own checks gave them."""
    token = admit(request, rt, "submit")  # 401, 429, 403
    if idempotency_key is not None:
        try:
            _HEADER_KEY.validate_python(idempotency_key)
        except ValidationError as exc:
            return invalid(
                validation_entries([{**e, "loc": ("header", "Idempotency-Key")} for e in exc.errors()])
            )
    if body is None:
        raise too_large(rt.settings.api_max_body_bytes)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return invalid([{"loc": ["body"], "msg": "not valid JSON"}])
    if not isinstance(data, dict):
        return invalid([{"loc": ["body"], "msg": "must be a JSON object"}])
    if idempotency_key is not None:
        given = data.get("idempotency_key")
        if given is None:
            data["idempotency_key"] = idempotency_key
        elif given != idempotency_key:
            msg = "differs from the body's idempotency_key: give one of them"
            return invalid([{"loc": ["header", "Idempotency-Key"], "msg": msg}])
    try:
        job = parse_job(data).submitted_as(token.name, token.callback_url)
    except JobValidationError as exc:
        return invalid(problems(exc.problems))
    refused = _callback_entry(job, rt.settings, {})  # may resolve the callback's host: we are in a thread
    if refused is not None:
        return invalid([refused])
    try:
        outcome = submit(job, store=rt.store, app=rt.producer)
    except JobValidationError as exc:
        return invalid(problems(exc.problems))
    except IdempotencyConflict as exc:
        owners = owners_of(rt.store, [exc.key])
        msg = taken_message(exc.key) if _foreign(token, owners, exc.key) else str(exc)
        return conflict(exc.key, msg)
    if outcome.duplicate and _foreign(token, owners_of(rt.store, [outcome.key]), outcome.key):
        return conflict(outcome.key, taken_message(outcome.key))
    return JSONResponse(
        outcome_json(outcome),
        status_code=200 if outcome.duplicate else 201,
        headers={"Location": location(outcome.key)},
    )


@router.post(
    "/v1/jobs:batch",
    operation_id="submit_batch",
    summary="Submit up to 10,000 jobs",
    response_model=BatchAnswer,
    response_description="at least one line accepted: one result per line, in order",
    responses=errors(
        *TOKEN_ERRORS,
        413,
        415,
        said={
            413: "the body is larger than the API takes, or has more than 10,000 jobs",
            422: "every line refused (results says why, line by line), or the body is not a batch",
        },
        models={422: BatchRefusedProblem},
    ),
    openapi_extra={
        **AUTHENTICATED,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": JOB_REF}},
                **{
                    ndjson: {"schema": {"type": "string"}} for ndjson in BATCH if ndjson != "application/json"
                },
            },
        },
    },
)
async def create_jobs(request: Request, token: ApiToken = can_submit) -> JSONResponse:
    """Submit up to 10,000 jobs (a JSON array or NDJSON, one job a line): one result per line, in
    order; bad lines are reported (``loc``, ``msg``) and the good ones kept."""
    rt = runtime_of(request)
    body = await _read_body(request, rt.settings.api_max_batch_bytes)
    lines = await run_in_threadpool(batch_lines, body)
    if isinstance(lines, JSONResponse):
        return lines
    if len(lines) > MAX_BATCH_LINES:
        raise HTTPException(413, f"more than {MAX_BATCH_LINES} jobs in one batch")
    results = await run_in_threadpool(submit_lines, rt, lines, token)
    ordered = [results[n] for n, _item in lines]
    accepted = sum(1 for r in ordered if r["ok"])
    if not accepted:
        return all_refused(ordered)
    return JSONResponse({"accepted": accepted, "refused": len(ordered) - accepted, "results": ordered})


def all_refused(ordered: list[dict[str, Any]]) -> JSONResponse:
    """422 ``batch-refused`` when no line was accepted (or there is none): nothing was queued, so the
    request failed as a whole, and a client that checks only the status learns it (a 200 said
    "done"). ``errors`` flattens the lines' (``loc`` ``["body", <line>, ...]``); ``accepted``,
    ``refused`` and ``results`` are the 200's members, so one parser reads both. Some lines accepted is
    200, not 207: 207 Multi-Status is WebDAV's (RFC 4918 section 13) and its body is XML; the per-line
    ``ok`` of a 200 says the same to any client."""
    if not ordered:
        entries = [{"loc": ["body"], "msg": "no job in the body: give at least one line"}]
        return problem(422, "the batch has no job", type=BATCH_REFUSED, errors=entries)
    entries = [
        {"loc": ["body", r["line"], *e["loc"][1:]], "msg": e["msg"]} for r in ordered for e in r["errors"]
    ]
    detail = f"all {len(ordered)} jobs of the batch were refused: nothing was queued"
    return problem(
        422,
        detail,
        type=BATCH_REFUSED,
        errors=entries,
        accepted=0,
        refused=len(ordered),
        results=ordered,
    )


def submit_lines(rt: Runtime, lines: list[tuple[int, Any]], token: ApiToken) -> dict[int, dict[str, Any]]:
    """Validate every line, submit the good ones in one ``submit_many``: a result per line number
    (in a worker thread: 10,000 validations would hold the event loop)."""
    results: dict[int, dict[str, Any]] = {}
    good: list[tuple[int, AnyJob]] = []
    callbacks: dict[str, str | None] = {}
    for number, item in lines:
        if isinstance(item, str):
            results[number] = {"line": number, "ok": False, "errors": [{"loc": ["body"], "msg": item}]}
            continue
        try:
            job = parse_job(item).submitted_as(token.name, token.callback_url)
        except JobValidationError as exc:
            results[number] = {"line": number, "ok": False, "errors": problems(exc.problems)}
            continue
        refused = _callback_entry(job, rt.settings, callbacks)
        if refused is not None:
            results[number] = {"line": number, "ok": False, "errors": [refused]}
            continue
        good.append((number, job))
    answers = submit_many([j for _n, j in good], store=rt.store, app=rt.producer)
    taken = [a.key for a in answers if a.key and (a.outcome is None or a.outcome.duplicate)]
    owners = owners_of(rt.store, taken)
    for (number, _job), answer in zip(good, answers, strict=True):
        existing = answer.outcome is not None and answer.outcome.duplicate
        if answer.key and (existing or isinstance(answer.error, IdempotencyConflict)):
            if _foreign(token, owners, answer.key):
                entry = {"loc": ["body", "idempotency_key"], "msg": taken_message(answer.key)}
                results[number] = {"line": number, "ok": False, "key": answer.key, "errors": [entry]}
                continue
        if answer.outcome is not None:
            results[number] = {"line": number, "ok": True, **outcome_json(answer.outcome)}
        elif isinstance(answer.error, IdempotencyConflict):
            entry = {"loc": ["body", "idempotency_key"], "msg": str(answer.error)}
            results[number] = {"line": number, "ok": False, "key": answer.key, "errors": [entry]}
        else:
            found = answer.error.problems if answer.error else []
            results[number] = {"line": number, "ok": False, "errors": problems(found)}
    return results


def batch_lines(body: bytes) -> list[tuple[int, Any]] | JSONResponse:
    """(line number, parsed JSON or the reason it is not) per job: a JSON array, else NDJSON."""
    text = body.decode("utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            return invalid([{"loc": ["body"], "msg": "not a valid JSON array"}])
        return [
            (n, item if isinstance(item, dict) else "must be a JSON object")
            for n, item in enumerate(items, 1)
        ]
    raw_lines = split_lines(text)
    if sum(1 for line in raw_lines if line.strip()) > MAX_BATCH_LINES:
        raise HTTPException(413, f"more than {MAX_BATCH_LINES} jobs in one batch")
    lines: list[tuple[int, Any]] = []
    for number, line in enumerate(raw_lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            lines.append((number, "not valid JSON"))
            continue
        lines.append((number, item if isinstance(item, dict) else "must be a JSON object"))
    return lines
