"""``POST /v1/jobs`` and ``POST /v1/jobs:batch``: the same job models and submit path as ``tasks.publish``.

Idempotency keys are global (one job per key, whoever submits it: the registrar effect is once per key).
A key another owner already used is answered 409 "already in use" whatever its parameters, with no
status, result or parameters of that job: the same answer for a duplicate and a conflict, so a guess at
another producer's order learns nothing but that the key is taken (its own keys answer as before:
200 duplicate or 409 naming the conflict). A ``callback_url`` the delivery would refuse (a private,
loopback or link-local address, plain http) is refused here, 422, unless ``REGQ_WEBHOOK_ALLOW_PRIVATE``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared import defaults
from shared.errors import IdempotencyConflict, JobValidationError
from shared.jobs import MAX_KEY_LENGTH, AnyJob, JobOutcome, parse_job
from shared.settings import Settings
from shared.store.api_tokens import ApiToken
from shared.webhooks.outbound.targets import callback_problem
from tasks.publish import submit, submit_many
from tasks.runtime import Runtime
from workers.api.answers import invalid, location, outcome_json, problems, too_large
from workers.api.auth import require, runtime_of
from workers.api.hooks import read_capped
from workers.api.queries import owners_of
from workers.jsonlines import split_lines

MAX_BATCH_LINES = defaults.API_MAX_BATCH_LINES
JOB_REF = {"$ref": "#/components/schemas/Job"}

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
    response_model=JobOutcome,
    responses={200: {"description": "the same key and body: the existing job"}, 409: {}, 413: {}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": JOB_REF}}}},
)
async def create_job(
    request: Request,
    token: ApiToken = can_submit,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", max_length=MAX_KEY_LENGTH, pattern=r"^[\x20-\x7e]+$"
    ),
) -> JSONResponse:
    """Submit one job; ``Idempotency-Key`` is its key when the body has none. 201 new, 200 the same
    job again (same key, same body), 409 the key with another body (or any key another producer
    used), 422 one entry per bad field."""
    rt = runtime_of(request)
    body = await _read_body(request, rt.settings.api_max_body_bytes)
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
    refused = await run_in_threadpool(_callback_entry, job, rt.settings, {})
    if refused is not None:
        return invalid([refused])
    try:
        outcome = await run_in_threadpool(lambda: submit(job, store=rt.store, app=rt.producer))
    except JobValidationError as exc:
        return invalid(problems(exc.problems))
    except IdempotencyConflict as exc:
        owners = await run_in_threadpool(owners_of, rt.store, [exc.key])
        msg = taken_message(exc.key) if _foreign(token, owners, exc.key) else str(exc)
        return JSONResponse({"detail": {"key": exc.key, "msg": msg}}, status_code=409)
    if outcome.duplicate:
        owners = await run_in_threadpool(owners_of, rt.store, [outcome.key])
        if _foreign(token, owners, outcome.key):
            return JSONResponse({"detail": {"key": outcome.key, "msg": taken_message(outcome.key)}}, 409)
    return JSONResponse(
        outcome_json(outcome),
        status_code=200 if outcome.duplicate else 201,
        headers={"Location": location(outcome.key)},
    )


@router.post(
    "/v1/jobs:batch",
    responses={413: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": JOB_REF}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
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
    return JSONResponse({"accepted": accepted, "refused": len(ordered) - accepted, "results": ordered})


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
